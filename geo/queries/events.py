"""Cases: one case inside the requester's area, its row locked for a change, and its log (the timeline).

Every function takes the requester's `area` (a grid-code prefix): a case outside it is "not found",
so its existence is not revealed. The SQL is hand-written (`text()`) because the dispatch columns of
migration 0003 are not on the ORM model. Reporting is in geo.queries.reporting, time limits in
geo.queries.timelimits, the overdue lists in geo.queries.overdue.
"""

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import clock
from geo.errors import NotFoundError
from geo.jobs import queue
from geo.queries import figures
from geo.queries.area import area_range

EVENT_COLUMNS = """
    e.id, e.kind, e.category, e.severity, e.status, gridgov_person_text(e.title, e.id) AS title,
    gridgov_person_text(e.description, e.id) AS description, e.source, e.reported_at,
    e.closed_at, ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat, e.grid_id, e.grid_code, e.assignee_id,
    e.escalation_level, e.referral, e.referral_status, e.deadline_at, e.suspended_at, e.suspended_total,
    e.deadline_provisional, e.deadline_uncovered_years,
    e.handled_by, e.duplicate_of, e.created_at, e.updated_at"""
# One case, with 超期 at the clock's instant (geo.queries.figures), so no page decides it by its own clock.
_GET = text(
    f"SELECT {EVENT_COLUMNS}, {figures.overdue_at('e', ':at')} AS overdue "
    "FROM events e WHERE e.id = :id AND e.grid_code ~>=~ :lo AND e.grid_code ~<~ :hi"
)
_LOG = text("""
INSERT INTO event_log (event_id, at, actor, action, from_status, to_status, note, data)
VALUES (:event_id, :at, :actor, :action, :from_status, :to_status, :note, CAST(:data AS jsonb))
""")


def get_event(session: Session, event_id: int, area: str) -> dict[str, Any]:
    """One case inside the area (with `overdue` now); NotFoundError otherwise, also when it is elsewhere."""
    params = {"id": event_id, **area_range(area), "at": clock.now()}
    row = session.execute(_GET, params).mappings().first()
    if row is None:
        raise NotFoundError(f"案件 {event_id} 不存在", where="event_id")
    return dict(row)


_LOCK = text(
    "SELECT id, status, category, severity, assignee_id, handled_by, escalation_level, referral, "
    "referral_status, deadline_at, suspended_at, grid_code FROM events "
    "WHERE id = :id AND grid_code ~>=~ :lo AND grid_code ~<~ :hi FOR UPDATE"
)


def lock_event(session: Session, event_id: int, area: str) -> Any:
    """The case row, locked for this transaction; NotFoundError outside the area."""
    row = session.execute(_LOCK, {"id": event_id, **area_range(area)}).first()
    if row is None:
        raise NotFoundError(f"案件 {event_id} 不存在", where="event_id")
    return row


def log_action(
    session: Session,
    event_id: int,
    actor: str,
    action: str,
    *,
    from_status: str | None = None,
    to_status: str | None = None,
    note: str = "",
    data: dict[str, Any] | None = None,
) -> None:
    """Record one change of a case (the timeline reads these rows) and queue its county's refresh."""
    row = {"event_id": event_id, "at": clock.now(), "actor": actor, "action": action}
    row |= {"from_status": from_status, "to_status": to_status, "note": note or ""}
    row["data"] = json.dumps(data or {}, default=str)
    session.execute(_LOG, row)
    queue.enqueue_refresh_for_event(session, event_id)


def log_step(
    session: Session,
    ev: Any,
    actor: str,
    action: str,
    *,
    to_status: str | None = None,
    note: str = "",
    data: dict[str, Any] | None = None,
) -> None:
    """log_action for a case row (lock_event's): from its status to `to_status`, by default the same."""
    to = to_status or ev.status
    log_action(session, ev.id, actor, action, from_status=ev.status, to_status=to, note=note, data=data)
