"""The audit log: explicit rows (logins, locks, administrators' work, reads of personal data), the query
behind GET /api/audit, and the hash chain's check (`gridgov audit verify`) and purge.

Changes of rows are written by the `gridgov_audit` trigger (migration 0006) with the actor the request
set (`gridgov.actor`). Reads: the database's gridgov_person_* functions note in the transaction when they
hand a cleared requester personal data unmasked (migrations 0033, 0066), routes note the reads the
database cannot see (a cached tile: `note_personal_read`); `AUDIT_PERSONAL_READ` then writes the
request's one audit row as it commits (api.deps runs it before every commit of a cleared requester).
Every row is chained to the one before by SHA-256 (migration 0032); `verify_chain` recomputes the chain
from the stored values and names the first row that does not fit.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from geo.errors import InvalidInputError

GENESIS = "0" * 64
RETENTION_DAYS = 180  # GB/T 22239 level 3: audit records kept at least six months

_INSERT = text("""
INSERT INTO audit_log (actor, action, target_table, target_id, detail)
VALUES (:actor, :action, :table, :target, CAST(:detail AS jsonb))
""")

# One row per transaction that handed personal data to a cleared requester (noted by the database's
# gridgov_person_* functions); nothing when none was. A read changes nothing but this row, so its commit
# need not wait for the WAL flush: synchronous_commit is switched off when the transaction wrote nothing
# else (a crash can lose at most the last ~0.6 s of read records; changes commit synchronously).
AUDIT_PERSONAL_READ = text("""
INSERT INTO audit_log (actor, action, target_table, target_id, detail)
SELECT current_setting('gridgov.actor'), 'read_personal', NULL, NULL,
       jsonb_build_object('request', current_setting('gridgov.request', true),
                          'area', current_setting('gridgov.area', true),
                          'what', current_setting('gridgov.personal_read', true))
FROM (SELECT CASE WHEN txid_current_if_assigned() IS NULL
                  THEN set_config('synchronous_commit', 'off', true) END) AS no_flush_wait
WHERE coalesce(current_setting('gridgov.personal_read', true), '') <> ''
""")
_AUDIT_PERSONAL_READ_SQL = str(AUDIT_PERSONAL_READ)  # no parameters: the driver sends it as it is
_NOTE_SQL = "SELECT gridgov_personal_read(%s)"
# On the connection: the first read of this transaction the database could not see (note_personal_read).
_NOTE_KEY = "gridgov_personal_note"


def commit_with_read_row(connection: Connection) -> None:
    """Write AUDIT_PERSONAL_READ and COMMIT in one round trip (psycopg's pipeline, on the driver's
    connection), after the notes of note_personal_read: the row takes the audit chain's lock until the
    commit (migration 0032), and every cleared read of the county queues on that lock, so no client
    round trip may fall inside it. The caller's own commit that follows finds the transaction ended and
    does nothing."""
    note = drop_note(connection)
    driver = connection.connection.driver_connection
    with driver.pipeline():
        if note:
            driver.execute(_NOTE_SQL, [note])
        driver.execute(_AUDIT_PERSONAL_READ_SQL)
        driver.commit()


def drop_note(connection: Connection) -> str | None:
    """The transaction's pending note, taken off the connection (a rolled back one hands nothing out)."""
    return connection.info.pop(_NOTE_KEY, None)


def act_as(session: Session, actor: str) -> str:
    """Name `actor` in the audit log and case timelines for the rest of this transaction (the trigger
    records changes made under an actor: the CLI's commands, as cli:USER); returns it."""
    session.execute(text("SELECT set_config('gridgov.actor', :a, true)"), {"a": actor})
    return actor


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
            "actor": actor[:200],
            "action": action,
            "table": table,
            "target": None if target is None else str(target),
            "detail": json.dumps(detail or {}, ensure_ascii=False, default=str),
        },
    )


def note_personal_read(session: Session, what: str) -> None:
    """Note that this transaction hands personal data out (for reads the database cannot see, such as a
    cached tile). The note travels with the commit (commit_with_read_row: no round trip of its own),
    which writes the audit row for cleared requesters only (AUDIT_PERSONAL_READ)."""
    # The database keeps the first kind noted in a transaction (gridgov_personal_read): so does this.
    session.connection().info.setdefault(_NOTE_KEY, what)


_FILTERS = {
    "actor": "actor = :actor",
    "action": "action = :action",
    "table": "target_table = :table",
    "target": "target_id = :target",
    "since": "at >= :since",
    "until": "at < :until",
}
_COLUMNS = "id, seq, at, actor, action, target_table, target_id, before, after, detail, hash"


def _where(filters: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    unknown = set(filters) - set(_FILTERS)
    if unknown:
        raise InvalidInputError(f"unknown audit filter {sorted(unknown)}; allowed {sorted(_FILTERS)}")
    given = {k: v for k, v in filters.items() if v not in (None, "")}
    return " AND ".join(_FILTERS[k] for k in given) or "true", given


def list_audit(
    session: Session,
    *,
    limit: int = 100,
    offset: int = 0,
    **filters: str | datetime | None,
) -> dict[str, Any]:
    """Audit rows newest first, filtered by actor, action, table, target and time; with the total."""
    where, given = _where(filters)
    total = session.execute(text(f"SELECT count(*) FROM audit_log WHERE {where}"), given).scalar_one()
    rows = session.execute(
        text(f"SELECT {_COLUMNS} FROM audit_log WHERE {where} ORDER BY seq DESC LIMIT :limit OFFSET :offset"),
        {**given, "limit": limit, "offset": offset},
    ).mappings()
    return {"total": total, "items": [dict(r) for r in rows]}


def iter_audit(session: Session, *, limit: int, **filters: str | datetime | None) -> list[dict[str, Any]]:
    """Audit rows oldest first (an export), filtered as list_audit, at most `limit`."""
    where, given = _where(filters)
    rows = session.execute(
        text(f"SELECT {_COLUMNS} FROM audit_log WHERE {where} ORDER BY seq LIMIT :limit"),
        {**given, "limit": limit},
    ).mappings()
    return [dict(r) for r in rows]


# --- the hash chain -----------------------------------------------------------------------------------

_CHAIN_ROWS = text("""
SELECT id, seq, prev_hash, hash, seq::text AS seq_text,
       to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at_text, actor, action,
       target_table, target_id, before::text AS before_text, after::text AS after_text,
       detail::text AS detail_text
FROM audit_log ORDER BY seq
""")


def quote_nullable(value: str | None) -> str:
    """PostgreSQL's quote_nullable: NULL, 'text' with quotes doubled, E'...' when it holds backslashes."""
    if value is None:
        return "NULL"
    quoted = value.replace("'", "''")
    if "\\" in value:
        return "E'" + quoted.replace("\\", "\\\\") + "'"
    return "'" + quoted + "'"


def row_text(row: Any) -> str:
    """The canonical text of an audit row (the same as the database's gridgov_audit_text)."""
    fields = (row.seq_text, row.at_text, row.actor, row.action, row.target_table, row.target_id)
    return ",".join(quote_nullable(f) for f in (*fields, row.before_text, row.after_text, row.detail_text))


def row_hash(prev: str, body: str) -> str:
    """sha256(prev || '\\n' || body) in hex."""
    return hashlib.sha256(f"{prev}\n{body}".encode()).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    """The result of checking the chain: rows checked, the head, and the first broken link if any."""

    rows: int
    first_seq: int
    last_seq: int
    head: str
    broken_seq: int | None = None
    broken_id: int | None = None
    problem: str | None = None

    @property
    def intact(self) -> bool:
        """True when every row and link checks out."""
        return self.problem is None


def _broken(rows: int, head: Any, row: Any, problem: str) -> ChainReport:
    seq, rid = (row.seq, row.id) if row is not None else (None, None)
    return ChainReport(rows, head.first_seq, head.last_seq, head.last_hash, seq, rid, problem)


def verify_chain(conn: Connection | Session) -> ChainReport:
    """Recompute every row's hash from its stored values and check each link, the start and the head."""
    head = conn.execute(text("SELECT first_seq, last_seq, last_hash FROM audit_chain")).one()
    prev_seq, prev_hash, count, last = head.first_seq - 1, None, 0, None
    for row in conn.execute(_CHAIN_ROWS):
        count += 1
        if row.seq != prev_seq + 1:
            gone = f"第 {prev_seq + 1} 条" + (f"至第 {row.seq - 1} 条" if row.seq - 1 > prev_seq + 1 else "")
            return _broken(count, head, row, f"{gone}审计记录缺失（被删除）")
        if prev_hash is not None and row.prev_hash != prev_hash:
            return _broken(count, head, row, "与上一条记录的链接不符（前一条被改动或替换）")
        if row_hash(row.prev_hash, row_text(row)) != row.hash:
            return _broken(count, head, row, "记录内容与其哈希不符（被改动）")
        prev_seq, prev_hash, last = row.seq, row.hash, row
    if prev_seq != head.last_seq or (last is not None and last.hash != head.last_hash):
        return _broken(
            count, head, last, f"链尾应为第 {head.last_seq} 条，实为第 {prev_seq} 条（末尾记录被删除）"
        )
    return ChainReport(count, head.first_seq, head.last_seq, head.last_hash)


def purge(session: Session, keep_days: int, actor: str) -> int:
    """Delete the audit rows older than `keep_days` days (180 at least; audit times are the database's
    clock) from the start of the chain; the purge itself is recorded. Returns how many rows went. The
    caller commits."""
    if keep_days < RETENTION_DAYS:
        raise InvalidInputError(f"审计记录至少保存 {RETENTION_DAYS} 天", where="keep_days")
    return int(
        session.execute(
            text("SELECT gridgov_audit_purge(:days, :actor)"), {"days": keep_days, "actor": actor}
        ).scalar_one()
    )
