"""Login throttling: failed logins counted per account name and per client address, and locks.

After `max_failures` failures within `window` (counted since the subject's last lock or unlock and, for
an account, its last successful login), the account name or the address is locked for `lock_for`, or
until the security administrator lifts the lock. Unknown account names are counted and locked like
known ones, so the answers never tell which names exist. Every lock and unlock is audited.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import audit


@dataclass(frozen=True)
class Throttle:
    """How many failures within which window lock an account name or address, and for how long."""

    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    lock_for: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class Lock:
    """An active lock: 'account' (an account name) or 'address' (a client address), until when."""

    kind: str
    subject: str
    until: datetime


_ACTIVE = text("""
SELECT kind, subject, until FROM login_locks
WHERE ((kind = 'account' AND subject = :account) OR (kind = 'address' AND subject = :addr))
  AND until > :now AND unlocked_at IS NULL
ORDER BY kind = 'address', until DESC LIMIT 1
""")
_RECORD = text("""
INSERT INTO login_failures (at, account, client_addr, reason) VALUES (:now, :account, :addr, :reason)
""")
# Failures since the window opened, the subject's last lock or unlock, and (accounts) its last login.
_COUNT = text("""
SELECT count(*) FROM login_failures f
WHERE CASE WHEN :kind = 'account' THEN f.account ELSE f.client_addr END = :subject AND f.at > :since
  AND f.at > coalesce((SELECT max(greatest(l.locked_at, l.unlocked_at)) FROM login_locks l
                       WHERE l.kind = :kind AND l.subject = :subject), '-infinity')
  AND (:kind <> 'account' OR f.at > coalesce((SELECT max(s.created_at) FROM user_sessions s
                                             JOIN users u ON u.id = s.user_id WHERE u.name = :subject),
                                            '-infinity'))
""")
_LOCK = text("""
INSERT INTO login_locks (kind, subject, locked_at, until, failures) VALUES (:kind, :subject, :now, :until, :n)
""")
_UNLOCK = text("""
UPDATE login_locks SET unlocked_at = :now, unlocked_by = :by
WHERE kind = :kind AND subject = :subject AND unlocked_at IS NULL AND until > :now RETURNING id
""")
_LIST = text("""
SELECT id, kind, subject, locked_at, until, failures FROM login_locks
WHERE unlocked_at IS NULL AND until > :now ORDER BY locked_at DESC, id DESC LIMIT :limit
""")


def find_lock(session: Session, account: str, addr: str, now: datetime) -> Lock | None:
    """The lock that refuses this login now (the account's first), if any."""
    row = session.execute(_ACTIVE, {"account": account, "addr": addr, "now": now}).first()
    return Lock(*row) if row else None


def record_failure(
    session: Session, account: str, addr: str, *, reason: str, now: datetime, throttle: Throttle
) -> list[Lock]:
    """Count a failed login; lock the account name and/or the address once they reach the limit (each
    lock audited). Returns the locks this failure made."""
    session.execute(_RECORD, {"now": now, "account": account, "addr": addr, "reason": reason})
    made = []
    for kind, subject in (("account", account), ("address", addr)):
        params = {"kind": kind, "subject": subject, "since": now - throttle.window}
        failures = session.execute(_COUNT, params).scalar_one()
        if failures >= throttle.max_failures:
            lock = Lock(kind, subject, now + throttle.lock_for)
            made.append(_lock(session, lock, failures, now=now, account=account, addr=addr))
    return made


def _lock(session: Session, lock: Lock, failures: int, *, now: datetime, account: str, addr: str) -> Lock:
    """Store the lock and audit it, as the failed login's account name, with its client address."""
    params = {"kind": lock.kind, "subject": lock.subject, "now": now, "until": lock.until, "n": failures}
    session.execute(_LOCK, params)
    detail = {
        "kind": lock.kind,
        "subject": lock.subject,
        "failures": failures,
        "until": lock.until,
        "client_addr": addr,
    }
    audit.record(session, account, "login_lock", table="login_locks", target=lock.subject, detail=detail)
    return lock


def unlock(session: Session, kind: str, subject: str, *, by: str, now: datetime) -> int:
    """Lift the active locks of an account name or address (the security administrator); audited."""
    lifted = len(session.execute(_UNLOCK, {"kind": kind, "subject": subject, "by": by, "now": now}).all())
    audit.record(
        session,
        by,
        "login_unlock",
        table="login_locks",
        target=subject,
        detail={"kind": kind, "lifted": lifted},
    )
    return lifted


def list_locks(session: Session, now: datetime, limit: int = 200) -> list[dict[str, Any]]:
    """The locks in force now, newest first."""
    return [dict(r) for r in session.execute(_LIST, {"now": now, "limit": limit}).mappings()]
