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

# A read changes nothing but this row, so its commit need not wait for the WAL flush (on this kind
# of disk the larger part of such a request): synchronous_commit is switched off for the reading
# transaction in the same statement. A crash can lose at most the last ~0.6 s of read records
# (3 x wal_writer_delay); audit rows of changes are written by the trigger and commit synchronously.
_INSERT_READ = text("""
INSERT INTO audit_log (actor, action, target_table, target_id, detail)
SELECT :actor, 'read_unmasked', :table, :target, CAST(:detail AS jsonb)
FROM (SELECT set_config('synchronous_commit', 'off', true)) AS no_flush_wait
""")


def act_as(session: Session, actor: str) -> str:
    """Name `actor` in the audit log and case timelines for the rest of this transaction (the trigger
    records changes made under an actor: the CLI's commands, as cli:USER); returns it."""
    session.execute(text("SELECT set_config('gridgov.actor', :a, true)"), {"a": actor})
    return actor


def record_read(
    session: Session, actor: str, *, table: str, target: str | int, detail: dict[str, Any]
) -> None:
    """Append the audit row of an unmasked read of personal data (the caller commits; see _INSERT_READ)."""
    session.execute(
        _INSERT_READ,
        {
            "actor": actor,
            "table": table,
            "target": str(target),
            "detail": json.dumps(detail, ensure_ascii=False, default=str),
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
