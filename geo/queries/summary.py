"""Headline figures of an area for the commander's big screen, open cases and who is on duty.

Every figure is counted with the one definition in geo.queries.figures, at the clock's instant;
"today" is the county's day (geo.clock), and the day used is returned so the console prints it.
"""

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import clock
from geo.errors import NotFoundError
from geo.models import EVENT_KINDS
from geo.queries import figures as f
from geo.queries import rollups
from geo.queries.area import area_range, check_area, in_area
from geo.queries.coverage import summarize_coverage

# Workers on duty are few rows per grid: counted directly (the case figures come from the roll-ups).
_ON_DUTY_COUNT = text(
    f"SELECT count(*) FROM workers w WHERE {in_area('w.home_grid_code')} AND {f.on_duty('w')}"
)

# The area's own grid (county, township, village or small grid) for the breadcrumb.
_AREA = text("""
SELECT code, name, level FROM grids
WHERE valid_to IS NULL AND code = rpad(:area, 15, '0')
  AND level IN ('province', 'city', 'county', 'township', 'village', 'grid')
""")

_OPEN_EVENTS = text(f"""
SELECT e.id, e.kind, e.category, c.label_zh AS category_label, e.severity, e.status, e.grid_code,
       ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat, e.reported_at,
       {f.overdue_at("e", ":at")} AS overdue
FROM events e JOIN categories c ON c.code = e.category
WHERE {in_area("e.grid_code")} AND {f.open_now("e", ":at")}
ORDER BY e.reported_at DESC LIMIT :limit
""")

_ON_DUTY = text(f"""
SELECT w.id, gridgov_person_name(w.name) AS name, w.home_grid_code AS grid_code, w.available,
       w.open_tasks, w.capacity, ST_X(w.geom) AS lon, ST_Y(w.geom) AS lat, w.located_at
FROM workers w
WHERE {in_area("w.home_grid_code")} AND {f.on_duty("w")}
ORDER BY w.open_tasks DESC, w.home_grid_code LIMIT :limit
""")


def find_area(session: Session, area: str) -> dict[str, Any]:
    """The grid an area prefix names (code, name, level); NotFoundError if there is none."""
    check_area(area)
    if len(area) not in (2, 4, 6, 9, 12, 15):  # province, prefecture-level city, county ... small grid
        raise NotFoundError(f"没有编码为 {area} 的区域", where="area")
    row = session.execute(_AREA, {"area": area}).mappings().first()
    if row is None:
        raise NotFoundError(f"没有编码为 {area} 的区域", where="area")
    return dict(row)


def summarize(session: Session, area: str, at: datetime | None = None) -> dict[str, Any]:
    """Headline figures of the area at `at` (default: now): today's new cases by kind, open, overdue,
    办结率 of the 30 days to today, wages recovered this year, workers on duty.

    Counted from the roll-ups (geo.queries.rollups) with the definitions of geo.queries.figures."""
    at = clock.local(at) if at else clock.now()
    day: date = at.date()
    prefix = check_area(area)
    out = {**_case_figures(session, prefix, day, at), **_wage_figures(session, prefix, day, at)}
    out["on_duty"] = session.execute(_ON_DUTY_COUNT, area_range(prefix)).scalar_one()
    # 今日走访覆盖率: the one definition of coverage (geo.queries.coverage), for the county's today
    covered = summarize_coverage(session, area, day, day + timedelta(days=1))
    out["visit_coverage"] = covered["share"]
    out["grids_covered"], out["grids_total"] = covered["covered"], covered["grids"]
    return {"day": day, "as_of": at, **out}


def _case_figures(session: Session, prefix: str, day: date, at: datetime) -> dict[str, Any]:
    """Today's new cases by kind, open and overdue at `at`, and 办结率 of the 30 days to today."""
    tomorrow = day + timedelta(days=1)
    kinds = rollups.window(session, prefix, day, tomorrow, group="kind")
    now = rollups.instant(session, prefix, at, open_now=True)
    rate = rollups.window(session, prefix, day - timedelta(days=29), tomorrow, resolved_by=at)
    return {
        **{f"new_{k}s": kinds.get(k, {}).get("new", 0) for k in EVENT_KINDS},
        "open": rollups.total(now, "open"),
        "overdue": rollups.total(now, "overdue"),
        "resolution_rate": f.resolution_rate(
            rollups.total(rate, "resolved"), rollups.total(rate, "accepted")
        ),
    }


def _wage_figures(session: Session, prefix: str, day: date, at: datetime) -> dict[str, Any]:
    """Wages recovered this year by cases closed by `at`, and the workers they were paid to."""
    wages = rollups.window(
        session,
        prefix,
        day.replace(month=1, day=1),
        day + timedelta(days=1),
        group="category",
        closed_by=at,
        wages_only=True,
    ).get("dispute|labour_wages", {})
    return {
        "wage_recovered": float(wages.get("wage_recovered", 0)),
        "wage_workers": int(wages.get("wage_paid_workers", 0)),
    }


def list_open_events(session: Session, area: str, limit: int = 5000) -> list[dict[str, Any]]:
    """Open cases of the area, newest first, without personal data (lon/lat WGS84)."""
    params = {**area_range(area), "at": clock.now(), "limit": limit}
    return [dict(r) for r in session.execute(_OPEN_EVENTS, params).mappings()]


def list_on_duty(session: Session, area: str, limit: int = 2000) -> list[dict[str, Any]]:
    """Workers on duty whose home grid is in the area, busiest first (names masked per 0006)."""
    params = {**area_range(area), "limit": limit}
    return [dict(r) for r in session.execute(_ON_DUTY, params).mappings()]


_DEPARTMENTS = text("""
SELECT d.id, d.code, d.name, d.kind FROM departments d
WHERE d.county_code = left(:area, 6) ORDER BY d.kind, d.code LIMIT 500
""")


def list_departments(session: Session, area: str) -> list[dict[str, Any]]:
    """The departments of the area's county (the ones a dispatcher can whistle)."""
    check_area(area)
    return [dict(r) for r in session.execute(_DEPARTMENTS, {"area": area}).mappings()]
