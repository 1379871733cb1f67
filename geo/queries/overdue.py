"""Cases past their deadline, or near it, at the clock's instant: lists and counts per small grid."""

from datetime import timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import clock
from geo.queries import figures
from geo.queries.area import area_range, in_area
from geo.queries.events import EVENT_COLUMNS

# The one overdue rule (geo.queries.figures) at the clock's instant; the partial index events_open
# narrows the scan to open cases.
_OVERDUE = text(f"""
SELECT {EVENT_COLUMNS}, CAST(:at AS timestamptz) - e.deadline_at AS overdue_by FROM events e
WHERE {in_area("e.grid_code")} AND {figures.open_now("e", ":at")} AND {figures.overdue_at("e", ":at")}
ORDER BY e.deadline_at, e.id LIMIT :limit
""")
_OVERDUE_BY_GRID = text(f"""
SELECT e.grid_code, g.name, count(*) AS overdue FROM events e
LEFT JOIN grids g ON g.code = e.grid_code AND g.valid_to IS NULL
WHERE {in_area("e.grid_code")} AND {figures.open_now("e", ":at")} AND {figures.overdue_at("e", ":at")}
GROUP BY e.grid_code, g.name ORDER BY overdue DESC, e.grid_code LIMIT :limit
""")


def list_overdue(session: Session, area: str, limit: int = 100) -> list[dict[str, Any]]:
    """Open cases past their deadline now, longest overdue first."""
    params = {**area_range(area), "limit": limit, "at": clock.now()}
    return [dict(r) for r in session.execute(_OVERDUE, params).mappings()]


def list_due_soon(session: Session, area: str, hours: float, limit: int = 100) -> list[dict[str, Any]]:
    """Open, running cases whose deadline falls within the next `hours` hours, soonest first."""
    now = clock.now()
    rows = session.execute(
        text(
            f"SELECT {EVENT_COLUMNS} FROM events e "
            "WHERE e.status IN ('registered','dispatched','in_progress') AND e.suspended_at IS NULL "
            "AND e.deadline_at >= :now AND e.deadline_at < :until "
            "AND e.grid_code ~>=~ :lo AND e.grid_code ~<~ :hi "
            "ORDER BY e.deadline_at, e.id LIMIT :limit"
        ),
        {"now": now, "until": now + timedelta(hours=hours), **area_range(area), "limit": limit},
    ).mappings()
    return [dict(r) for r in rows]


def count_overdue_by_grid(session: Session, area: str, limit: int = 1000) -> list[dict[str, Any]]:
    """How many overdue cases each small grid holds now (grid code, name, count), most first."""
    params = {**area_range(area), "limit": limit, "at": clock.now()}
    return [dict(r) for r in session.execute(_OVERDUE_BY_GRID, params).mappings()]
