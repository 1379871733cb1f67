"""The audit log: explicit rows for reads of personal data, and the query behind GET /api/audit.

Changes of rows are written by the `gridgov_audit` trigger (migration 0006) with the actor the request
set (`gridgov.actor`); this module adds what a trigger cannot see: who read unmasked personal data.
"""

import json
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.errors import InvalidInputError

_INSERT = text("""
INSERT INTO audit_log (actor, action, target_table, target_id, detail)
VALUES (:actor, :action, :table, :target, CAST(:detail AS jsonb))
""")


def record(
    session: Session,
    actor: str,
    action: str,
    *,
    table: str | None = None,
    target: str | int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one audit row (the caller commits)."""
    session.execute(
        _INSERT,
        {
            "actor": actor,
            "action": action,
            "table": table,
            "target": None if target is None else str(target),
            "detail": json.dumps(detail or {}, ensure_ascii=False, default=str),
        },
    )


_FILTERS = {
    "actor": "actor = :actor",
    "action": "action = :action",
    "table": "target_table = :table",
    "target": "target_id = :target",
    "since": "at >= :since",
    "until": "at < :until",
}


def list_audit(
    session: Session,
    *,
    limit: int = 100,
    offset: int = 0,
    **filters: str | datetime | None,
) -> dict[str, Any]:
    """Audit rows newest first, filtered by actor, action, table, target and time; with the total."""
    unknown = set(filters) - set(_FILTERS)
    if unknown:
        raise InvalidInputError(f"unknown audit filter {sorted(unknown)}; allowed {sorted(_FILTERS)}")
    given = {k: v for k, v in filters.items() if v not in (None, "")}
    where = " AND ".join(_FILTERS[k] for k in given) or "true"
    total = session.execute(text(f"SELECT count(*) FROM audit_log WHERE {where}"), given).scalar_one()
    rows = session.execute(
        text(
            "SELECT id, at, actor, action, target_table, target_id, before, after, detail "
            f"FROM audit_log WHERE {where} ORDER BY at DESC, id DESC LIMIT :limit OFFSET :offset"
        ),
        {**given, "limit": limit, "offset": offset},
    ).mappings()
    return {"total": total, "items": [dict(r) for r in rows]}
