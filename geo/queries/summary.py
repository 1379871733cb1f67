"""Headline figures of an area for the commander's big screen, open cases and who is on duty.

Every figure is counted with the one definition in geo.queries.figures, at the clock's instant;
"today" is the county's day (geo.clock), and the day used is returned so the console prints it.
"""

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import Text

from geo import clock
from geo.errors import NotFoundError
from geo.models import EVENT_KINDS
from geo.queries import figures as f
from geo.queries.coverage import summarize_coverage
from geo.queries.events import area_like

# Day bounds are timestamptz parameters and every count names the kinds, so that the (kind,
# reported_at) index serves each range (bounds computed in the statement hid them from the planner:
# it read every event of the area four times, 2.5 s for a province account).
_FIGURES = text(f"""
WITH today AS (
    SELECT e.kind, count(*) AS n FROM events e
    WHERE e.kind = ANY(:kinds) AND e.grid_code LIKE :area AND {f.new_in("e", ":day_start", ":day_end")}
    GROUP BY e.kind
), wages AS (
    SELECT coalesce(sum(e.wage_recovered), 0) AS recovered,
           coalesce(sum(e.wage_workers) FILTER (WHERE e.wage_recovered > 0), 0) AS workers
    FROM events e
    WHERE e.kind = 'dispute' AND e.category = 'labour_wages' AND e.grid_code LIKE :area
      AND {f.closed_at("e", ":at")} AND e.closed_at >= :year_start
), rate AS (
    SELECT count(*) FILTER (WHERE {f.closed_at("e", ":at")}) AS closed, count(*) AS base
    FROM events e WHERE e.kind = ANY(:kinds) AND e.grid_code LIKE :area AND {f.accepted("e")}
     AND e.reported_at >= :since30 AND e.reported_at < :day_end
)
SELECT
  coalesce((SELECT n FROM today WHERE kind = 'dispute'), 0) AS new_disputes,
  coalesce((SELECT n FROM today WHERE kind = 'hazard'), 0) AS new_hazards,
  coalesce((SELECT n FROM today WHERE kind = 'appeal'), 0) AS new_appeals,
  (SELECT count(*) FROM events e WHERE e.grid_code LIKE :area AND {f.open_now("e", ":at")}) AS open,
  (SELECT count(*) FROM events e WHERE e.grid_code LIKE :area AND {f.open_now("e", ":at")}
      AND {f.overdue_at("e", ":at")}) AS overdue,
  (SELECT closed FROM rate) AS closed30,
  (SELECT base FROM rate) AS accepted30,
  (SELECT recovered FROM wages) AS wage_recovered,
  (SELECT workers FROM wages) AS wage_workers,
  (SELECT count(*) FROM workers w WHERE w.home_grid_code LIKE :area AND {f.on_duty("w")}) AS on_duty
""").bindparams(bindparam("kinds", type_=ARRAY(Text)))

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
WHERE e.grid_code LIKE :area AND {f.open_now("e", ":at")}
ORDER BY e.reported_at DESC LIMIT :limit
""")

_ON_DUTY = text(f"""
SELECT w.id, gridgov_person_name(w.name) AS name, w.home_grid_code AS grid_code, w.available,
       w.open_tasks, w.capacity, ST_X(w.geom) AS lon, ST_Y(w.geom) AS lat, w.located_at
FROM workers w
WHERE w.home_grid_code LIKE :area AND {f.on_duty("w")}
ORDER BY w.open_tasks DESC, w.home_grid_code LIMIT :limit
""")


def find_area(session: Session, area: str) -> dict[str, Any]:
    """The grid an area prefix names (code, name, level); NotFoundError if there is none."""
    area_like(area)  # refuses anything but digits
    if len(area) not in (2, 4, 6, 9, 12, 15):  # province, prefecture-level city, county ... small grid
        raise NotFoundError(f"没有编码为 {area} 的区域", where="area")
    row = session.execute(_AREA, {"area": area}).mappings().first()
    if row is None:
        raise NotFoundError(f"没有编码为 {area} 的区域", where="area")
    return dict(row)


def summarize(session: Session, area: str, at: datetime | None = None) -> dict[str, Any]:
    """Headline figures of the area at `at` (default: now): today's new cases by kind, open, overdue,
    办结率 of the 30 days to today, wages recovered this year, workers on duty."""
    at = clock.local(at) if at else clock.now()
    day: date = at.date()
    params = {
        "area": area_like(area),
        "kinds": list(EVENT_KINDS),
        "at": at,
        "day_start": clock.midnight(day),
        "day_end": clock.midnight(day + timedelta(days=1)),
        "since30": clock.midnight(day - timedelta(days=29)),
        "year_start": clock.midnight(day.replace(month=1, day=1)),
    }
    out = dict(session.execute(_FIGURES, params).mappings().one())
    out["resolution_rate"] = f.resolution_rate(out.pop("closed30"), out.pop("accepted30"))
    out["wage_recovered"] = float(out["wage_recovered"])
    # 今日走访覆盖率: the one definition of coverage (geo.queries.coverage), for the county's today
    covered = summarize_coverage(session, area, day, day + timedelta(days=1))
    out["visit_coverage"] = covered["share"]
    out["grids_covered"], out["grids_total"] = covered["covered"], covered["grids"]
    return {"day": day, "as_of": at, **out}


def list_open_events(session: Session, area: str, limit: int = 5000) -> list[dict[str, Any]]:
    """Open cases of the area, newest first, without personal data (lon/lat WGS84)."""
    params = {"area": area_like(area), "at": clock.now(), "limit": limit}
    return [dict(r) for r in session.execute(_OPEN_EVENTS, params).mappings()]


def list_on_duty(session: Session, area: str, limit: int = 2000) -> list[dict[str, Any]]:
    """Workers on duty whose home grid is in the area, busiest first (names masked per 0006)."""
    return [dict(r) for r in session.execute(_ON_DUTY, {"area": area_like(area), "limit": limit}).mappings()]


_DEPARTMENTS = text("""
SELECT d.id, d.code, d.name, d.kind FROM departments d
WHERE d.county_code = left(:area, 6) ORDER BY d.kind, d.code LIMIT 500
""")


def list_departments(session: Session, area: str) -> list[dict[str, Any]]:
    """The departments of the area's county (the ones a dispatcher can whistle)."""
    area_like(area)
    return [dict(r) for r in session.execute(_DEPARTMENTS, {"area": area}).mappings()]
