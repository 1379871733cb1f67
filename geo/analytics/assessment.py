"""The monthly assessment of grid workers (网格员考核): counted in PostGIS, frozen once issued, like reports.

Per worker and county month: days on patrol, km walked, visits, cases found, cases handled within the
time limit, verifications passed at the first try, overdue cases; a score and a ranking per township
(geo/sql/assessment.sql says exactly how each is counted). A month is issued only by the scheduled
`assessments` job once it has ended, or by an explicit POST: it is then stored in `assessments` with its
cut-off and returned as stored (a trigger refuses updates). Reading never issues: a month not issued yet
is counted live up to now and says `issued: false`. The stored rows hold worker ids, not names: names
are joined when read, through gridgov_person_name, so roles without clearance see them masked.
"""

import json
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import clock, sql
from geo.errors import ConflictError, InvalidInputError
from geo.queries.area import area_range
from geo.settings import FieldSettings

FIGURES = (
    ("days_on_patrol", "巡查天数"),
    ("km", "巡查里程（公里）"),
    ("visits", "入户走访（户次）"),
    ("cases_found", "发现上报（件）"),
    ("handled_on_time", "按时处置（件）"),
    ("verified_first_pass", "一次核查通过（件）"),
    ("overdue", "超期（件）"),
    ("score", "得分"),
)
_ROWS = sql.load("assessment")


def parse_month(value: str | None) -> date:
    """The first day of a month written YYYY-MM (default: the county's current month)."""
    if value in (None, ""):
        return clock.today().replace(day=1)
    try:
        year, month = (int(x) for x in str(value).split("-"))
        return date(year, month, 1)
    except ValueError:
        raise InvalidInputError(f"月份须写作 YYYY-MM，如 2026-11；收到 {value!r}", where="month") from None


def month_bounds(first: date) -> tuple[date, date]:
    """[first day, first day of the next month)."""
    return first, (first + timedelta(days=32)).replace(day=1)


def compute_rows(
    session: Session, area: str, first: date, cutoff: datetime, settings: FieldSettings
) -> list[dict[str, Any]]:
    """Every worker's figures, score and township rank for the month, as the database knew them at
    `cutoff`."""
    d0, d1 = month_bounds(first)
    params = {
        **area_range(area),
        "d0": d0,
        "d1": d1,
        "t0": clock.midnight(d0),
        "t1": clock.midnight(d1),
        "cutoff": cutoff,
        "days_target": settings.patrol_days_target,
        "visits_target": settings.visits_target,
        "km_target": settings.km_target,
    }
    return [dict(r) for r in session.execute(_ROWS, params).mappings()]


def _targets(settings: FieldSettings) -> dict[str, Any]:
    return {"days": settings.patrol_days_target, "visits": settings.visits_target, "km": settings.km_target}


_FIND = text("SELECT cutoff_at, issued_at, figures FROM assessments WHERE month = :month AND area = :area")
_ISSUE = text("""
INSERT INTO assessments (month, area, cutoff_at, issued_at, figures)
VALUES (:month, :area, :cutoff, :now, CAST(:figures AS jsonb)) ON CONFLICT (month, area) DO NOTHING
""")
# Names are joined when read (masked for uncleared roles), never stored in the frozen rows.
_NAMES = text("""
SELECT w.id, gridgov_person_name(w.name) AS name FROM workers w WHERE w.id = ANY(CAST(:ids AS bigint[]))
""")


def _with_names(session: Session, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ids = [r["worker_id"] for r in rows]
    names = dict(session.execute(_NAMES, {"ids": ids}).all()) if ids else {}
    return [{**r, "name": names.get(r["worker_id"], "")} for r in rows]


def _envelope(
    session: Session, area: str, first: date, cutoff: datetime, figures: dict, issued_at: Any
) -> dict[str, Any]:
    """An assessment as the API returns it; times in the county's zone."""
    d0, d1 = month_bounds(first)
    return {
        "month": f"{first:%Y-%m}",
        "title": f"{first.year}年{first.month}月网格员考核",
        "area": area,
        "zone": clock.zone().key,
        "start": clock.midnight(d0).isoformat(),
        "end": clock.midnight(d1).isoformat(),
        "cutoff_at": clock.local(cutoff).isoformat(),
        "issued": issued_at is not None,
        "issued_at": clock.local(issued_at).isoformat() if issued_at else None,
        "targets": figures["targets"],
        "rows": _with_names(session, figures["rows"]),
    }


def _figures(session: Session, area: str, first: date, cutoff: datetime, settings: FieldSettings) -> dict:
    rows = compute_rows(session, area, first, cutoff, settings)
    return json.loads(json.dumps({"targets": _targets(settings), "rows": rows}, default=str))


def get_assessment(session: Session, area: str, first: date, settings: FieldSettings) -> dict[str, Any]:
    """The month's assessment: as issued (frozen), else counted live up to now (a read never issues)."""
    row = session.execute(_FIND, {"month": first, "area": area}).first()
    if row is not None:
        return _envelope(session, area, first, row.cutoff_at, row.figures, row.issued_at)
    now = clock.now()
    return _envelope(session, area, first, now, _figures(session, area, first, now, settings), None)


def issue_assessment(session: Session, area: str, first: date, settings: FieldSettings) -> dict[str, Any]:
    """Count and freeze an ended month's assessment with the cut-off now; an issued one is returned as it
    was. ConflictError while the month runs. The caller commits."""
    now = clock.now()
    if now < clock.midnight(month_bounds(first)[1]):
        raise ConflictError(f"{first:%Y-%m} 尚未结束，结束后才能签发考核", where="month")
    if session.execute(_FIND, {"month": first, "area": area}).first() is None:
        figures = _figures(session, area, first, now, settings)
        params = {"month": first, "area": area, "cutoff": now, "now": now, "figures": json.dumps(figures)}
        session.execute(_ISSUE, params)
    return get_assessment(session, area, first, settings)


def issue_due(session: Session, area: str, settings: FieldSettings, lookback: int = 2) -> list[str]:
    """Issue the assessments of the last `lookback` ended months of the area not issued yet (the job)."""
    first = clock.today().replace(day=1)
    issued = []
    for _ in range(lookback):
        first = (first - timedelta(days=1)).replace(day=1)
        if session.execute(_FIND, {"month": first, "area": area}).first() is None:
            issue_assessment(session, area, first, settings)
            issued.append(f"{first:%Y-%m}")
    return issued
