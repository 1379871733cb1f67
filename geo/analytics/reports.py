"""Period reports (日调度、周分析、月研判、季考评): figures counted in PostGIS, frozen once issued.

A report covers [start, end) of a day, ISO week, month or quarter in the county's zone (geo.clock), for
an area (a grid-code prefix). Its figures count what the database knew at its cut-off (`created_at` <=
cut-off) with the one definition of each figure (geo.queries.figures). A report is issued only by the
scheduled `reports` job once its period has ended, or by an explicit POST: it is then stored in
`reports` with its cut-off and returned as stored from then on (a trigger refuses updates). Reading a
report never issues it: a period not issued yet is counted live and says so. Cases entered later but
dated inside an issued period are counted by the next report as late entries (补录).
"""

import json
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import clock
from geo.analytics import stats
from geo.analytics.cells import load_cells
from geo.errors import ConflictError, InvalidInputError
from geo.queries import figures as f
from geo.queries import rollups
from geo.queries.area import area_range

PERIODS = {"daily": "日调度", "weekly": "周分析", "monthly": "月研判", "quarterly": "季考评"}


def period_bounds(period: str, day: date) -> tuple[datetime, datetime]:
    """[start, end) of the period holding `day`, in the county's zone."""
    if period == "daily":
        first, nxt = day, day + timedelta(days=1)
    elif period == "weekly":
        first = day - timedelta(days=day.weekday())
        nxt = first + timedelta(days=7)
    elif period in ("monthly", "quarterly"):
        m0 = day.month if period == "monthly" else 3 * ((day.month - 1) // 3) + 1
        first = date(day.year, m0, 1)
        m1 = m0 + (1 if period == "monthly" else 3)
        nxt = date(day.year + (m1 > 12), (m1 - 1) % 12 + 1, 1)
    else:
        raise InvalidInputError(f"周期须为 {', '.join(PERIODS)} 之一；收到 {period!r}", where="period")
    return clock.midnight(first), clock.midnight(nxt)


# Cases entered after the previous report's cut-off but dated before this period (补录), and referrals:
# few rows, found by index (events_created_time, events_referred_time).
_LATE = text("""
SELECT count(*) FROM events e
WHERE e.grid_code ~>=~ :lo AND e.grid_code ~<~ :hi AND e.status <> 'duplicate'
  AND e.created_at > :late_after AND e.created_at <= :cutoff AND e.reported_at < :start
""")

_BY_REFERRAL = text(f"""
SELECT e.referral, count(*) FROM events e
WHERE e.referral IS NOT NULL AND e.reported_at >= :start AND e.reported_at < :end
  AND e.grid_code ~>=~ :lo AND e.grid_code ~<~ :hi AND e.created_at <= :cutoff AND {f.new_in()}
GROUP BY 1 ORDER BY 1
""")

_ON_DUTY = text(f"""
SELECT count(*) FROM workers w WHERE w.home_grid_code ~>=~ :lo AND w.home_grid_code ~<~ :hi AND {f.on_duty()}
""")

_NAMES = text("""
SELECT left(code, :n) AS code, name FROM grids
WHERE valid_to IS NULL AND level = :level AND code ~>=~ :lo AND code ~<~ :hi
""")
_CATEGORY_LABELS = text("SELECT code, label_zh FROM categories")

# The three colours at the report's cut-off: the stored grades (geo.analytics.risk) of the area.
_RISK = text("""
SELECT grade, count(*) AS grids, max(as_of) AS as_of FROM risk_grades
WHERE grid_code ~>=~ :lo AND grid_code ~<~ :hi AND as_of <= :cutoff GROUP BY grade
""")

_PREVIOUS_CUTOFF = text("""
SELECT cutoff_at FROM reports WHERE period = :period AND area = :area AND period_start < :start
ORDER BY period_start DESC LIMIT 1
""")


def unit_level(area: str) -> str:
    """The level a report breaks its area down by: counties for a province or city, else townships."""
    return "county" if len(area) <= 4 else "township"


def _hot_codes(session: Session, area: str, start: datetime, end: datetime) -> set[str]:
    """Small grids hot at 95 % (Gi*, analytical z-scores, FDR) for disputes and hazards in [start, end)."""
    cells = load_cells(session, area, "grid", kinds=("dispute", "hazard"), start=start, end=end)
    if cells.n < 3 or cells.weights is None:
        return set()
    eb = stats.eb_rates(cells.counts[:, 0], np.where(cells.km2 > 0, cells.km2, 1e-6))
    gi = stats.gi_star(eb, cells.weights)
    return {k for k, c in zip(cells.keys, gi.confidence, strict=True) if c >= 2}


def hotspot_changes(session: Session, area: str, start: datetime, end: datetime) -> dict[str, Any]:
    """Hot spots of the period (at least 28 days back from its end) against the same span before it.

    Two Gi* runs: computed by the jobs (issuing, and the `drafts` of running periods), never by a read."""
    span = max(end - start, timedelta(days=28))
    now, before = (
        _hot_codes(session, area, end - span, end),
        _hot_codes(session, area, end - 2 * span, end - span),
    )
    return {
        "hot": sorted(now),
        "new_hot": sorted(now - before),
        "ended_hot": sorted(before - now),
        "computed_at": clock.now().isoformat(),
    }


def _rows_by_unit(session: Session, area: str, p: dict, counts: dict, instants: dict) -> list[dict]:
    """New, closed, open and overdue per county or township of the area, with names, in code order."""
    level = unit_level(area)
    n = rollups.PREFIX[level]
    names = dict(session.execute(_NAMES, {**p, "n": n, "level": level}).all())
    codes = sorted(set(counts) | set(instants))
    out = []
    for code in codes:
        c, i = counts.get(code, {}), instants.get(code, {})
        row = {"code": code, "name": names.get(code), "new": c.get("new", 0), "closed": c.get("closed", 0)}
        row.update(open=i.get("open", 0), overdue=i.get("overdue", 0))
        if any(row[k] for k in ("new", "closed", "open", "overdue")):
            out.append(row)
    return out


def _by_category(session: Session, made: dict[str, dict[str, Any]]) -> list[dict]:
    """New cases per kind and category, and how many of them were closed by the period's end (or the
    cut-off, if sooner: nothing closes after it), from the report's category window."""
    labels = dict(session.execute(_CATEGORY_LABELS).all())
    rows = []
    for key, v in made.items():
        kind, _, category = key.partition("|")
        if v["new"]:
            rows.append(
                {
                    "kind": kind,
                    "category": labels.get(category, category),
                    "new": v["new"],
                    "closed": v["resolved"],
                }
            )
    return sorted(rows, key=lambda r: (-r["new"], r["category"]))


def _summary(session: Session, area: str, p: dict, totals: dict, instant: dict) -> dict[str, Any]:
    wages = [v for k, v in totals["category"].items() if k.endswith("|labour_wages")]
    whole = totals["all"].get("", {})
    return {
        "new": whole.get("new", 0),
        "late": session.execute(_LATE, p).scalar_one(),
        "closed": whole.get("closed", 0),
        "open": rollups.total(instant, "open"),
        "overdue": rollups.total(instant, "overdue"),
        "resolution_rate": f.resolution_rate(whole.get("resolved", 0), whole.get("accepted", 0)),
        "referrals": sum(n for _, n in session.execute(_BY_REFERRAL, p)),
        "wage_recovered": float(sum(w["wage_recovered"] for w in wages)),
        "wage_workers": int(sum(w["wage_workers"] for w in wages)),
        "on_duty": session.execute(_ON_DUTY, p).scalar_one(),
    }


def compute_figures(
    session: Session, period: str, area: str, start: datetime, end: datetime, cutoff: datetime
) -> dict[str, Any]:
    """Every count of a report (its hot spot section aside), from the roll-ups (geo.queries.rollups)
    with the one definition of each figure, as JSON-ready values."""
    p = _report_params(session, period, area, start, end, cutoff)
    unit = unit_level(area)
    totals, instants = _rolled_up(session, area, start, end, unit, cutoff)
    risk = _risk_section(session, p)
    out = {
        "summary": _summary(session, area, p, totals, instants),
        "by_level": unit,
        "by_township": _rows_by_unit(session, area, p, totals["unit"], instants),
        "by_category": _by_category(session, totals["category"]),
        "referrals": {r[0]: r[1] for r in session.execute(_BY_REFERRAL, p)},
        "risk": risk,
    }
    if len(area) >= 6:  # a province's or city's grids do not fit a report: its map shows counties
        out["by_grid"] = _new_by_grid(session, area, start, end, cutoff)
    return out


def _report_params(
    session: Session, period: str, area: str, start: datetime, end: datetime, cutoff: datetime
) -> dict[str, Any]:
    """The values the report's own queries bind; late entries (补录) count from the previous report's
    cut-off (or the period's start)."""
    prev = session.execute(_PREVIOUS_CUTOFF, {"period": period, "area": area, "start": start}).scalar()
    return {**area_range(area), "start": start, "end": end, "cutoff": cutoff, "late_after": prev or start}


def _county_days(start: datetime, end: datetime) -> tuple[date, date]:
    """The county days [first, after) of the period [start, end)."""
    return clock.local(start).date(), clock.local(end).date()


def _rolled_up(
    session: Session, area: str, start: datetime, end: datetime, unit: str, cutoff: datetime
) -> tuple[dict[str, Any], dict[str, dict[str, int]]]:
    """The window's figures (the area's, per category and per unit: one scan) and open and overdue per
    unit, at the period's end or the cut-off if sooner (nothing closes after it)."""
    upto = min(end, cutoff)
    d0, d1 = _county_days(start, end)
    win = {"resolved_by": upto, "cutoff": cutoff}
    counted = rollups.windows(session, area, d0, d1, (None, "category", unit), **win)  # one scan
    totals = {"all": counted[None], "category": counted["category"], "unit": counted[unit]}
    return totals, rollups.instant(session, area, upto, group=unit, cutoff=cutoff)


def _risk_section(session: Session, p: dict[str, Any]) -> dict[str, Any]:
    """The three colours at the report's cut-off: grids per grade, and as of when."""
    grades = session.execute(_RISK, p).all()
    as_of = max((r.as_of for r in grades), default=None)
    return {
        "counts": {r.grade: r.grids for r in grades},
        "as_of": clock.local(as_of).isoformat() if as_of else None,
    }


def _new_by_grid(session: Session, area: str, start: datetime, end: datetime, cutoff: datetime) -> dict:
    """New cases of the period per small grid that had any (the report's map)."""
    d0, d1 = _county_days(start, end)
    by_grid = rollups.window(session, area, d0, d1, group="grid", cutoff=cutoff)
    return {k: v["new"] for k, v in by_grid.items() if v["new"]}


_FIND = text("""SELECT id, period_start, period_end, cutoff_at, issued_at, figures FROM reports
WHERE period = :period AND period_start = :start AND area = :area""")

_ISSUE = text("""
INSERT INTO reports (period, period_start, period_end, area, cutoff_at, issued_at, figures)
VALUES (:period, :start, :end, :area, :cutoff, :now, CAST(:figures AS jsonb))
ON CONFLICT (period, period_start, area) DO NOTHING
""")


def _envelope(
    period: str, area: str, start: datetime, end: datetime, cutoff: datetime, figures: dict, issued_at: Any
) -> dict[str, Any]:
    """A report as the API returns it; times in the county's zone (ISO 8601 with the offset)."""
    return {
        "period": period,
        "title": PERIODS[period],
        "area": area,
        "zone": clock.zone().key,
        "start": clock.local(start).isoformat(),
        "end": clock.local(end).isoformat(),
        "cutoff_at": clock.local(cutoff).isoformat(),
        "issued": issued_at is not None,
        "issued_at": clock.local(issued_at).isoformat() if issued_at else None,
        **figures,
    }


def _stored(session: Session, period: str, area: str, start: datetime) -> dict[str, Any] | None:
    row = session.execute(_FIND, {"period": period, "start": start, "area": area}).first()
    if row is None:
        return None
    return _envelope(
        period, area, row.period_start, row.period_end, row.cutoff_at, row.figures, row.issued_at
    )


_DRAFT = text("""
SELECT hotspots FROM report_drafts WHERE period = :period AND area = :area AND period_start = :start
""")

NOT_COMPUTED: dict[str, Any] = {"hot": [], "new_hot": [], "ended_hot": [], "computed_at": None}


_STORE_DRAFT = text("""
INSERT INTO report_drafts (period, period_start, area, computed_at, hotspots)
VALUES (:period, :start, :area, :now, CAST(:hotspots AS jsonb))
ON CONFLICT (period, area, period_start) DO UPDATE
    SET computed_at = EXCLUDED.computed_at, hotspots = EXCLUDED.hotspots
""")
_DROP_OLD_DRAFTS = text(
    "DELETE FROM report_drafts WHERE period = :period AND area = :area AND period_start < :start"
)


def store_draft(session: Session, period: str, area: str) -> datetime:
    """Compute and keep the hot spot section of the area's running period (the `drafts` job); its start."""
    start, end = period_bounds(period, clock.today())
    hot = hotspot_changes(session, area, start, end)
    params = {"period": period, "start": start, "area": area, "now": clock.now(), "hotspots": json.dumps(hot)}
    session.execute(_STORE_DRAFT, params)
    previous, _ = period_bounds(period, start.date() - timedelta(days=1))  # kept until it is issued
    session.execute(_DROP_OLD_DRAFTS, {**params, "start": previous})
    return start


def _live(session: Session, period: str, area: str, start: datetime, end: datetime, at: datetime) -> dict:
    """Counted now from the roll-ups; the hot spot section as the `drafts` job last computed it."""
    figures = compute_figures(session, period, area, start, end, at)
    draft = session.execute(_DRAFT, {"period": period, "area": area, "start": start}).scalar()
    figures["hotspots"] = draft or NOT_COMPUTED
    figures = json.loads(json.dumps(figures, default=str))
    return _envelope(period, area, start, end, at, figures, None)


def get_report(session: Session, period: str, area: str, day: date) -> dict:
    """The report of the period holding `day`: as issued (frozen), else counted live up to now and not
    stored (a read never issues a report)."""
    start, end = period_bounds(period, day)
    return _stored(session, period, area, start) or _live(session, period, area, start, end, clock.now())


def issue_report(session: Session, period: str, area: str, day: date) -> dict:
    """Issue (count and freeze) the report of an ended period with the cut-off now; an issued one is
    returned as it was. ConflictError while the period is still running. The caller commits."""
    start, end = period_bounds(period, day)
    now = clock.now()
    if now < end:
        raise ConflictError(f"{PERIODS[period]}（{start.date()} 起）尚未结束，结束后才能签发", where="date")
    stored = _stored(session, period, area, start)
    if stored is not None:
        return stored
    counted = compute_figures(session, period, area, start, end, now)
    counted["hotspots"] = hotspot_changes(session, area, start, end)
    live = _envelope(period, area, start, end, now, json.loads(json.dumps(counted, default=str)), None)
    figures = {k: v for k, v in live.items() if k not in _ENVELOPE_KEYS}
    params = {"period": period, "start": start, "end": end, "area": area, "cutoff": now, "now": now}
    session.execute(_ISSUE, {**params, "figures": json.dumps(figures)})
    return _stored(session, period, area, start) or live


_ENVELOPE_KEYS = frozenset(
    {"period", "title", "area", "zone", "start", "end", "cutoff_at", "issued", "issued_at"}
)


def issue_due(session: Session, period: str, area: str, lookback: int = 3) -> list[str]:
    """Issue the reports of the last `lookback` ended periods of the area that are not issued yet
    (the scheduled job; a worker that was down catches up); the starts of those it issued."""
    day = clock.today()
    issued = []
    for _ in range(lookback):
        start, _end = period_bounds(period, day)
        day = start.date() - timedelta(days=1)  # a day of the period before
        start, end = period_bounds(period, day)
        if _stored(session, period, area, start) is None:
            issue_report(session, period, area, day)
            issued.append(start.date().isoformat())
    return issued
