"""Parties of a case: names, phones and ID numbers, kept apart from the case's location."""

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.queries.events import get_event

_PARTIES = text("""
SELECT p.id, p.role, gridgov_person_name(p.name) AS name, gridgov_person_phone(p.phone) AS phone,
       gridgov_person_id_number(p.id_number) AS id_number
FROM parties p WHERE p.event_id = :e ORDER BY p.id
""")


def list_parties(session: Session, event_id: int, area: str) -> list[dict[str, Any]]:
    """The parties of a case inside the area (NotFoundError when the case is not): masked for uncleared
    roles, an unmasked read noted for the audit (the database's gridgov_person_* functions)."""
    get_event(session, event_id, area)
    return [dict(r) for r in session.execute(_PARTIES, {"e": event_id}).mappings()]
