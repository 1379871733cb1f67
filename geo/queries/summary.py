"""Headline figures of an area for the commander's big screen, open cases and who is on duty.

"Today" is the newest day (Asia/Shanghai) on which the area had any report, but never after the real
today: on a live system that is the real today as soon as one case comes in; on the demo county (whose
history ends on the day it was generated) the big screen still shows a day with data instead of zeros.
The day used is returned, and the console prints it.
"""

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.errors import NotFoundError
from geo.queries.events import area_like

TZ = "Asia/Shanghai"
OPEN_STATUSES = ("reported", "registered", "dispatched", "in_progress", "handled")

# The newest reporting day (max() of an indexed column, not a scan of every row's local date).
_DAY = text(f"""
SELECT coalesce((max(reported_at) AT TIME ZONE '{TZ}')::date, (now() AT TIME ZONE '{TZ}')::date)
FROM events WHERE grid_code LIKE :area AND reported_at <= now()
""")

# Day bounds are timestamptz ranges so that the reported_at index serves them.
_FIGURES = text(f"""
WITH d AS (
    SELECT CAST(:day AS date)::timestamp AT TIME ZONE '{TZ}' AS day_start,
           (CAST(:day AS date) + 1)::timestamp AT TIME ZONE '{TZ}' AS day_end,
           (CAST(:day AS date) - 29)::timestamp AT TIME ZONE '{TZ}' AS since30,
           date_trunc('year', CAST(:day AS date))::timestamp AT TIME ZONE '{TZ}' AS year_start
), today AS (
    SELECT e.kind, count(*) AS n FROM events e, d
    WHERE e.grid_code LIKE :area AND e.reported_at >= d.day_start AND e.reported_at < d.day_end
    GROUP BY e.kind
)
SELECT
  coalesce((SELECT n FROM today WHERE kind = 'dispute'), 0) AS new_disputes,
  coalesce((SELECT n FROM today WHERE kind = 'hazard'), 0) AS new_hazards,
  coalesce((SELECT n FROM today WHERE kind = 'appeal'), 0) AS new_appeals,
  (SELECT count(*) FROM events e WHERE e.grid_code LIKE :area AND e.status = ANY(:open)) AS open,
  (SELECT count(*) FROM event_overdue o WHERE o.grid_code LIKE :area) AS overdue,
  (SELECT round(100.0 * count(*) FILTER (WHERE e.status IN ('handled', 'verified', 'closed'))
          / nullif(count(*) FILTER (WHERE e.status NOT IN ('rejected', 'duplicate')), 0), 1)
     FROM events e, d WHERE e.grid_code LIKE :area
     AND e.reported_at >= d.since30 AND e.reported_at < d.day_end) AS resolution_rate,
  (SELECT coalesce(sum(e.wage_recovered), 0) FROM events e, d WHERE e.grid_code LIKE :area
     AND e.category = 'labour_wages' AND e.reported_at >= d.year_start AND e.reported_at < d.day_end)
     AS wage_recovered,
  (SELECT coalesce(sum(e.wage_workers), 0) FROM events e, d WHERE e.grid_code LIKE :area
     AND e.category = 'labour_wages' AND e.wage_recovered > 0
     AND e.reported_at >= d.year_start AND e.reported_at < d.day_end) AS wage_workers,
  (SELECT count(*) FROM workers w WHERE w.home_grid_code LIKE :area AND w.on_duty) AS on_duty
""")

# The area's own grid (county, township, village or small grid) for the breadcrumb.
_AREA = text("""
SELECT code, name, level FROM grids
WHERE valid_to IS NULL AND code = rpad(:area, 15, '0')
  AND level IN ('county', 'township', 'village', 'grid')
""")

_OPEN_EVENTS = text("""
SELECT e.id, e.kind, e.category, c.label_zh AS category_label, e.severity, e.status, e.grid_code,
       ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat, e.reported_at,
       (e.deadline_at IS NOT NULL AND e.deadline_at < coalesce(e.suspended_at, now())
        AND e.status IN ('registered', 'dispatched', 'in_progress')) AS overdue
FROM events e JOIN categories c ON c.code = e.category
WHERE e.grid_code LIKE :area AND e.status = ANY(:open)
ORDER BY e.reported_at DESC LIMIT :limit
""")

_ON_DUTY = text("""
SELECT w.id, gridgov_person_name(w.name) AS name, w.home_grid_code AS grid_code, w.available,
       w.open_tasks, w.capacity, ST_X(w.geom) AS lon, ST_Y(w.geom) AS lat
FROM workers w
WHERE w.home_grid_code LIKE :area AND w.on_duty
ORDER BY w.open_tasks DESC, w.home_grid_code LIMIT :limit
""")


def area_code(area: str) -> str:
    """The 15-digit code of an area prefix (6, 9, 12 or 15 digits)."""
    return area.ljust(15, "0")


def find_area(session: Session, area: str) -> dict[str, Any]:
    """The grid an area prefix names (code, name, level); NotFoundError if there is none."""
    area_like(area)  # refuses anything but digits
    if len(area) not in (6, 9, 12, 15):
        raise NotFoundError(f"没有编码为 {area} 的区域", where="area")
    row = session.execute(_AREA, {"area": area}).mappings().first()
    if row is None:
        raise NotFoundError(f"没有编码为 {area} 的区域", where="area")
    return dict(row)


def summarize(session: Session, area: str) -> dict[str, Any]:
    """Headline figures of the area (see the module doc for which day is "today")."""
    like = area_like(area)
    day = session.execute(_DAY, {"area": like}).scalar_one()
    row = session.execute(_FIGURES, {"area": like, "day": day, "open": list(OPEN_STATUSES)}).mappings().one()
    out = {"day": day, **row}
    out["resolution_rate"] = float(out["resolution_rate"]) if out["resolution_rate"] is not None else None
    out["wage_recovered"] = float(out["wage_recovered"])
    return out


def list_open_events(session: Session, area: str, limit: int = 5000) -> list[dict[str, Any]]:
    """Open cases of the area, newest first, without personal data (lon/lat WGS84)."""
    params = {"area": area_like(area), "open": list(OPEN_STATUSES), "limit": limit}
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
