"""Server-side sessions (user_sessions, migration 0030): every login starts one, the token names it.

A request passes only while its session is live: not ended (logout, "log out everywhere", a disabled or
changed account, a changed password), not idle longer than its idle timeout, not past its lifetime;
gridgov_check_account (migration 0030) checks that in the request's first statement. Activity moves
`last_seen_at` at most once a minute (`touch_session`, its own short transaction): the one write a
GET request may cause.
"""

import secrets
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

TOUCH_EVERY = timedelta(minutes=1)

_START = text("""
INSERT INTO user_sessions (id, user_id, scope, created_at, last_seen_at, expires_at, idle_timeout,
                           client_addr, user_agent)
VALUES (:id, :user_id, :scope, :now, :now, :expires_at, :idle, :addr, :agent)
""")
_END = text("""
UPDATE user_sessions SET revoked_at = :now, revoked_by = :by, revoked_reason = :reason
WHERE id = :sid AND revoked_at IS NULL RETURNING id
""")
_END_ALL = text("""
UPDATE user_sessions s SET revoked_at = :now, revoked_by = :by, revoked_reason = :reason
FROM users u
WHERE u.id = s.user_id AND u.name = :name AND s.revoked_at IS NULL AND s.id IS DISTINCT FROM :keep
""")
_TOUCH = text("""
UPDATE user_sessions SET last_seen_at = :now
WHERE id = :sid AND revoked_at IS NULL
  AND last_seen_at <= CAST(:now AS timestamptz) - CAST(:every AS interval)
  AND :now < expires_at AND :now < last_seen_at + idle_timeout
""")


def start_session(
    session: Session,
    user_id: int,
    *,
    scope: str,
    now: datetime,
    lifetime: timedelta,
    idle: timedelta,
    client_addr: str | None = None,
    user_agent: str | None = None,
) -> tuple[str, datetime]:
    """Start a session of the account (scope 'full', or 'password': may only change its password);
    returns its id (random, 256 bits) and when it ends at the latest."""
    sid = secrets.token_urlsafe(32)
    expires_at = now + lifetime
    params = {"id": sid, "user_id": user_id, "scope": scope, "now": now, "expires_at": expires_at}
    session.execute(_START, {**params, "idle": idle, **_client(client_addr, user_agent)})
    return sid, expires_at


def _client(client_addr: str | None, user_agent: str | None) -> dict[str, str | None]:
    """The client's address and user agent as a session keeps them (the agent cut to 300 characters)."""
    return {"addr": client_addr, "agent": (user_agent or "")[:300] or None}


def end_session(session: Session, sid: str, *, by: str, reason: str, now: datetime) -> bool:
    """End one session now; False when it had ended already."""
    row = session.execute(_END, {"sid": sid, "by": by, "reason": reason, "now": now}).first()
    return row is not None


def end_sessions(
    session: Session, name: str, *, by: str, reason: str, now: datetime, keep: str | None = None
) -> int:
    """End every live session of an account (but `keep`); how many ended."""
    params = {"name": name, "by": by, "reason": reason, "now": now, "keep": keep}
    return session.execute(_END_ALL, params).rowcount  # type: ignore[attr-defined, no-any-return]


def touch_session(session: Session, sid: str, now: datetime) -> bool:
    """Mark a live session seen now, if it was last seen a minute ago or more (the caller commits)."""
    params = {"sid": sid, "now": now, "every": TOUCH_EVERY}
    return bool(session.execute(_TOUCH, params).rowcount)  # type: ignore[attr-defined]
