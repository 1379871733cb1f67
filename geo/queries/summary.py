"""Headline figures of an area for the commander's big screen, open cases and who is on duty.

"Today" is the newest day (Asia/Shanghai) on which the area had any report, but never after the real
today: on a live system that is the real today as soon as one case comes in; on the demo county (whose
history ends on the day it was generated) the big screen still shows a day with data instead of zeros.
The day used is returned, and the console prints it.
"""

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import Text

from geo.errors import NotFoundError
from geo.models import EVENT_KINDS
from geo.queries.events import area_like
from geo.queries.heat import LOCAL_TZ, get_latest_report

OPEN_STATUSES = ("reported", "registered", "dispatched", "in_progress", "handled")

# Day bounds are timestamptz parameters and every count names the kinds, so that the (kind,
# reported_at) index serves each range (bounds computed in the statement hid them from the planner:
# it read every event of the area four times, 2.5 s for a province account).
_FIGURES = text("""
WITH today AS (
    SELECT e.kind, count(*) AS n FROM events e
    WHERE e.kind = ANY(:kinds) AND e.grid_code LIKE :area
      AND e.reported_at >= :day_start AND e.reported_at < :day_end
    GROUP BY e.kind
), wages AS (
    SELECT coalesce(sum(e.wage_recovered), 0) AS recovered,
           coalesce(sum(e.wage_workers) FILTER (WHERE e.wage_recovered > 0), 0) AS workers
    FROM events e
    WHERE e.kind = 'dispute' AND e.category = 'labour_wages' AND e.grid_code LIKE :area
      AND e.reported_at >= :year_start AND e.reported_at < :day_end
)
SELECT
  coalesce((SELECT n FROM today WHERE kind = 'dispute'), 0) AS new_disputes,
  coalesce((SELECT n FROM today WHERE kind = 'hazard'), 0) AS new_hazards,
  coalesce((SELECT n FROM today WHERE kind = 'appeal'), 0) AS new_appeals,
  (SELECT count(*) FROM events e WHERE e.grid_code LIKE :area AND e.status = ANY(:open)) AS open,
  (SELECT count(*) FROM event_overdue o WHERE o.grid_code LIKE :area) AS overdue,
  (SELECT round(100.0 * count(*) FILTER (WHERE e.status IN ('handled', 'verified', 'closed'))
          / nullif(count(*) FILTER (WHERE e.status NOT IN ('rejected', 'duplicate')), 0), 1)
     FROM events e WHERE e.kind = ANY(:kinds) AND e.grid_code LIKE :area
     AND e.reported_at >= :since30 AND e.reported_at < :day_end) AS resolution_rate,
  (SELECT recovered FROM wages) AS wage_recovered,
  (SELECT workers FROM wages) AS wage_workers,
  (SELECT count(*) FROM workers w WHERE w.home_grid_code LIKE :area AND w.on_duty) AS on_duty
""").bindparams(bindparam("kinds", type_=ARRAY(Text)))

# The area's own grid (county, township, village or small grid) for the breadcrumb.
_AREA = text("""
SELECT code, name, level FROM grids
WHERE valid_to IS NULL AND code = rpad(:area, 15, '0')
  AND level IN ('province', 'city', 'county', 'township', 'village', 'grid')
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
    if len(area) not in (2, 4, 6, 9, 12, 15):  # province, prefecture-level city, county ... small grid
        raise NotFoundError(f"没有编码为 {area} 的区域", where="area")
    row = session.execute(_AREA, {"area": area}).mappings().first()
    if row is None:
        raise NotFoundError(f"没有编码为 {area} 的区域", where="area")
    return dict(row)


def _local_midnight(day: date) -> datetime:
    """The start of a day in Asia/Shanghai."""
    return datetime.combine(day, time(), LOCAL_TZ)


def summarize(session: Session, area: str) -> dict[str, Any]:
    """Headline figures of the area (see the module doc for which day is "today")."""
    now = datetime.now(LOCAL_TZ)
    day = (get_latest_report(session, area, until=now) or now).astimezone(LOCAL_TZ).date()
    params = {
        "area": area_like(area),
        "kinds": list(EVENT_KINDS),
        "open": list(OPEN_STATUSES),
        "day_start": _local_midnight(day),
        "day_end": _local_midnight(day + timedelta(days=1)),
        "since30": _local_midnight(day - timedelta(days=29)),
        "year_start": _local_midnight(day.replace(month=1, day=1)),
    }
    out = {"day": day, **session.execute(_FIGURES, params).mappings().one()}
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
