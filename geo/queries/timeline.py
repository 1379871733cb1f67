"""A case's timeline (event_log): every change, oldest first, with the names the entries point at.

Entries keep ids in their data (the worker dispatched to, the one before); the timeline adds those
workers' names, masked for roles without clearance by the database (gridgov_person_name), so the desk
can say 派遣给 张某某 instead of a number; phones and ID numbers typed in notes are masked the same way
(gridgov_person_text). Departments and referral targets are named in the data itself.
"""

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.queries.events import get_event

_TIMELINE = text("""
SELECT l.id, l.at, l.actor, l.action, l.from_status, l.to_status,
       gridgov_person_text(l.note, l.event_id) AS note, l.data,
       gridgov_person_name(w.name) AS worker, gridgov_person_name(pw.name) AS previous_worker
FROM event_log l
LEFT JOIN workers w ON w.id = CAST(l.data ->> 'worker_id' AS bigint)
LEFT JOIN workers pw ON pw.id = CAST(l.data ->> 'previous_worker_id' AS bigint)
WHERE l.event_id = :id
ORDER BY l.at, l.id
""")


def get_timeline(session: Session, event_id: int, area: str) -> list[dict[str, Any]]:
    """Every recorded change of a case in the area, oldest first (NotFoundError outside it)."""
    get_event(session, event_id, area)
    return [dict(r) for r in session.execute(_TIMELINE, {"id": event_id}).mappings()]
