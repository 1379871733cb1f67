"""What each kind of job does. A task takes the session, the job and the settings; it stores its results
in the job's transaction and returns a small summary (kept on the job row).

refresh    after a county's cases change: grade it now, and queue its analyses (throttled)
risk       grade every small grid of an area (geo.analytics.risk)
hotspots   Gi* per small grid or hexagon of an analysis area (params: unit)
emerging   emerging hot spots of an analysis area
chronic    repeat disputes (积案) of an analysis area
drafts     the hot spot section of the running periods' reports of an area (live reports read it)
reports    issue the reports of ended periods of an area (params: period)
assessments  issue the monthly worker assessments of ended months of an area
fixes      prepare the next months' partitions of the position history; drop what is past retention

A task says how far it is with `ctx.progress(fraction, note)`; the worker writes that to the job row
on a connection of its own (`gridgov jobs`, GET /api/jobs and every analytics answer show it).
"""

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import clock
from geo.analytics import assessment, reports
from geo.analytics.chronic import refresh_chronic
from geo.analytics.emerging import refresh_emerging
from geo.analytics.hotspots import refresh_hotspots
from geo.analytics.risk import RiskSettings, grade_area
from geo.analytics.settings import AnalyticsSettings
from geo.jobs.queue import Job, enqueue
from geo.queries import fixes
from geo.settings import FieldSettings, JobSettings

Progress = Callable[[float, str], None]


def no_progress(fraction: float, note: str) -> None:
    """A progress callback that records nothing (jobs run outside a worker)."""


@dataclass(frozen=True)
class Context:
    """The settings jobs run with (the `gridgov` command builds them from api.settings.Settings), and
    where the running job reports its progress."""

    analytics: AnalyticsSettings
    risk: RiskSettings
    jobs: JobSettings
    fieldwork: FieldSettings = field(default_factory=FieldSettings)
    progress: Progress = field(default=no_progress, compare=False)

    @property
    def delays(self) -> dict[str, float]:
        """How long each kind of job waits after it was queued (the rest: not at all)."""
        return {"refresh": self.jobs.refresh_delay_s}

    def reporting(self, progress: Progress) -> "Context":
        """The same settings with another progress callback."""
        return replace(self, progress=progress)


Task = Callable[[Session, Job, Context], dict[str, Any]]

# Analyses are kept for the county and for every account's own area (a township dispatcher's hot
# spots are computed over the township: statistics of a wider area would describe cells they may
# not see). Accounts are read here, by the worker, never by the app's role.
_ACCOUNT_AREAS = text("SELECT DISTINCT area FROM users WHERE active ORDER BY area")
_COUNTIES = text(
    "SELECT DISTINCT left(code, 6) FROM grids WHERE level = 'county' AND valid_to IS NULL ORDER BY 1"
)
_TOWNSHIPS = text(
    "SELECT left(code, 9) FROM grids WHERE level = 'township' AND valid_to IS NULL AND code LIKE :c || '%' "
    "ORDER BY 1"
)


def counties(session: Session) -> list[str]:
    """The adcodes of every county held."""
    return list(session.execute(_COUNTIES).scalars())


def analysis_areas(session: Session, county: str) -> list[str]:
    """The areas whose analyses cover the county: the county, and every account area in or above it."""
    areas = {county}
    for area in session.execute(_ACCOUNT_AREAS).scalars():
        if area.startswith(county) or county.startswith(area):
            areas.add(area)
    return sorted(areas)


def report_areas(session: Session, county: str, above: bool = False) -> list[str]:
    """The areas that get period reports: the county, its townships and every account area within (and,
    with `above`, the account areas above it: a city's or the province's reports cover it too)."""
    areas = {county, *session.execute(_TOWNSHIPS, {"c": county}).scalars()}
    for area in session.execute(_ACCOUNT_AREAS).scalars():
        if area.startswith(county) or (above and county.startswith(area)):
            areas.add(area)
    return sorted(areas)


ANALYSES = (
    ("hotspots", {"unit": "grid"}),
    ("hotspots", {"unit": "hex"}),
    ("emerging", None),
    ("chronic", None),
)


def refresh(session: Session, job: Job, ctx: Context) -> dict[str, Any]:
    """Grade the county's grids now; queue its analyses and report drafts (throttled)."""
    graded = grade_area(session, job.area, ctx.risk)
    areas = analysis_areas(session, job.area)
    delay = ctx.jobs.analytics_delay_s
    for area in areas:
        for kind, params in ANALYSES:
            enqueue(session, kind, area, params, delay=delay)
    for area in report_areas(session, job.area, above=True):
        enqueue(session, "drafts", area, delay=delay)
    return {"graded": graded, "analysis_areas": areas}


def risk(session: Session, job: Job, ctx: Context) -> dict[str, Any]:
    """Grade every small grid of the area."""
    return {"graded": grade_area(session, job.area, ctx.risk)}


def hotspots(session: Session, job: Job, ctx: Context) -> dict[str, Any]:
    """Gi* hot spots of the area (grid or hex)."""
    unit = str(job.params.get("unit", "grid"))
    return {"run": refresh_hotspots(session, job.area, unit, ctx.analytics, clock.now(), ctx.progress)}


def emerging(session: Session, job: Job, ctx: Context) -> dict[str, Any]:
    """Emerging hot spots of the area."""
    return {"run": refresh_emerging(session, job.area, ctx.analytics, clock.now(), ctx.progress)}


def chronic(session: Session, job: Job, ctx: Context) -> dict[str, Any]:
    """Repeat disputes of the area."""
    return {"run": refresh_chronic(session, job.area, ctx.analytics, clock.now())}


def drafts(session: Session, job: Job, ctx: Context) -> dict[str, Any]:
    """The hot spot section of the area's running periods (what a live report shows)."""
    done = []
    for i, period in enumerate(reports.PERIODS):
        ctx.progress(i / len(reports.PERIODS), f"{reports.PERIODS[period]}热点")
        done.append(reports.store_draft(session, period, job.area).date().isoformat())
    return {"periods": done}


def issue_reports(session: Session, job: Job, ctx: Context) -> dict[str, Any]:
    """Issue the area's reports of ended periods that are not issued yet."""
    period = str(job.params["period"])
    return {"issued": reports.issue_due(session, period, job.area)}


def issue_assessments(session: Session, job: Job, ctx: Context) -> dict[str, Any]:
    """Issue the area's monthly worker assessments of ended months not issued yet."""
    return {"issued": assessment.issue_due(session, job.area, ctx.fieldwork)}


def fix_history(session: Session, job: Job, ctx: Context) -> dict[str, Any]:
    """Partitions of the position history for the months ahead; history past its retention dropped."""
    return {
        "prepared": fixes.ensure_partitions(session, ctx.fieldwork),
        **fixes.drop_old_history(session, ctx.fieldwork),
    }


TASKS: dict[str, Task] = {
    "refresh": refresh,
    "risk": risk,
    "hotspots": hotspots,
    "emerging": emerging,
    "chronic": chronic,
    "drafts": drafts,
    "reports": issue_reports,
    "assessments": issue_assessments,
    "fixes": fix_history,
}


def compute_all(
    session: Session, county: str, ctx: Context, extra_areas: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Every analysis of a county at once, without the queue (the demo loader, test fixtures); also for
    `extra_areas` (areas of accounts still to be made)."""
    now = clock.now()
    areas = sorted({*analysis_areas(session, county), *extra_areas})
    for area in areas:
        for unit in ("grid", "hex"):
            refresh_hotspots(session, area, unit, ctx.analytics, now)
        refresh_emerging(session, area, ctx.analytics, now)
        refresh_chronic(session, area, ctx.analytics, now)
        for period in reports.PERIODS:
            reports.store_draft(session, period, area)
    return {"graded": grade_area(session, county, ctx.risk, now), "analysis_areas": areas}


def queue_all(session: Session, delay: float = 0.0) -> int:
    """Queue the refresh of every county (its grades, then its analyses and drafts): a fresh province."""
    held = counties(session)
    for county in held:
        enqueue(session, "refresh", county, delay=delay)
    return len(held)
