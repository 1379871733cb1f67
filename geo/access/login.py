"""Logging in, changing one's password, logging out: one function each, on the login's own session
(the `gridgov_auth` role of geo/sql/policies.sql, before there is a request user).

A login is refused while its account name or client address is locked (geo.access.throttle), with the
same answer for names that do not exist. A good password starts a session (geo.access.sessions): a full
one, or one that may only change its password when the account must (made by the CLI, reset by an
administrator, or its password older than the policy allows; demo accounts are exempt). Every login,
failure, refusal, logout and password change is audited.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NoReturn

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import audit
from geo.access import sessions, throttle
from geo.access.passwords import check_password
from geo.accounts import Account, dummy_hash, hash_password, verify_password
from geo.errors import InvalidInputError, LoginFailedError, LoginLockedError, LoginThrottledError

WRONG = "用户名或密码错误"


@dataclass(frozen=True)
class LoginPolicy:
    """Throttling, session lifetimes and the password policy of the installation."""

    throttle: throttle.Throttle
    lifetime: timedelta = timedelta(hours=8)
    idle: timedelta = timedelta(minutes=30)
    password_max_age: timedelta | None = timedelta(days=90)  # None: passwords never expire
    min_length: int = 10


@dataclass(frozen=True)
class Login:
    """A started session: the account, the session id, its scope ('full' or 'password'), its end."""

    account: Account
    session_id: str
    scope: str
    expires_at: datetime


_ACCOUNT = text("""
SELECT id, name, role, area, worker_id, active, department_id, password_hash, demo, must_change_password,
       password_changed_at
FROM users WHERE name = :n
""")


def _account_row(session: Session, name: str) -> Any:
    return session.execute(_ACCOUNT, {"n": name}).first()


def _refuse_if_locked(session: Session, name: str, addr: str, now: datetime) -> None:
    lock = throttle.find_lock(session, name, addr, now)
    if lock is None:
        return
    wait = max(int((lock.until - now).total_seconds()), 1)
    minutes = (wait + 59) // 60
    audit.record(
        session, name, "login_refused", table="login_locks", target=lock.subject, detail={"kind": lock.kind}
    )
    if lock.kind == "account":
        raise LoginLockedError(
            f"该账号登录失败次数过多，已锁定，请 {minutes} 分钟后再试，或联系安全管理员解锁",
            retry_after=wait,
            where="username",
        )
    raise LoginThrottledError(
        f"本机登录失败次数过多，请 {minutes} 分钟后再试", retry_after=wait, where="username"
    )


def _scope(row: Any, policy: LoginPolicy, now: datetime) -> str:
    if row.demo:
        return "full"
    expired = (
        policy.password_max_age is not None
        and row.password_changed_at is not None
        and now - row.password_changed_at > policy.password_max_age
    )
    return "password" if row.must_change_password or expired else "full"


def _start(
    session: Session, row: Any, scope: str, policy: LoginPolicy, now: datetime, **client: Any
) -> Login:
    sid, expires_at = sessions.start_session(
        session, row.id, scope=scope, now=now, lifetime=policy.lifetime, idle=policy.idle, **client
    )
    return Login(Account(*row[:7]), sid, scope, expires_at)  # the columns of Account, in its order


def log_in(
    session: Session,
    name: str,
    password: str,
    *,
    client_addr: str,
    user_agent: str | None,
    policy: LoginPolicy,
    now: datetime,
) -> Login:
    """Check the password and start a session; LoginLockedError / LoginThrottledError while locked,
    LoginFailedError otherwise (the same for unknown names). The caller commits, failures included."""
    name = name[:100]
    _refuse_if_locked(session, name, client_addr, now)
    row = _account_row(session, name)
    good = verify_password(row.password_hash if row else dummy_hash(), password)
    if row is None or not good or not row.active:
        reason = "unknown" if row is None else "password" if not good else "disabled"
        _fail_login(session, name, reason, client_addr, policy, now)
    return _start_login(session, name, row, policy, now, client_addr=client_addr, user_agent=user_agent)


def _fail_login(
    session: Session, name: str, reason: str, client_addr: str, policy: LoginPolicy, now: datetime
) -> NoReturn:
    """Count and audit a failed login, then refuse it with the one answer for every reason."""
    throttle.record_failure(session, name, client_addr, reason=reason, now=now, throttle=policy.throttle)
    audit.record(session, name, "login_failed", table="users", detail={"client_addr": client_addr})
    raise LoginFailedError(WRONG, where="username")


def _start_login(
    session: Session,
    name: str,
    row: Any,
    policy: LoginPolicy,
    now: datetime,
    *,
    client_addr: str,
    user_agent: str | None,
) -> Login:
    """Start the session a good password opened (full, or for the password change only) and audit it."""
    scope = _scope(row, policy, now)
    login = _start(session, row, scope, policy, now, client_addr=client_addr, user_agent=user_agent)
    detail = {"client_addr": client_addr, "scope": login.scope, "session": login.session_id[:8]}
    audit.record(session, name, "login", table="users", target=row.id, detail=detail)
    return login


_SET_PASSWORD = text("""
UPDATE users SET password_hash = :hash, must_change_password = false, password_changed_at = :now
WHERE id = :id
""")


def change_password(
    session: Session,
    name: str,
    current: str,
    new: str,
    *,
    client_addr: str,
    user_agent: str | None,
    policy: LoginPolicy,
    now: datetime,
) -> Login:
    """Change one's own password: the current one must match, the new one pass the policy and differ.
    Every session of the account ends; a new full one starts. The caller commits."""
    _refuse_if_locked(session, name, client_addr, now)
    row = _account_row(session, name)
    if row is None or not row.active or not verify_password(row.password_hash, current):
        _refuse_password_change(session, name, client_addr, policy, now)
    _check_new_password(row, name, new, policy.min_length)
    _store_password(session, row, name, new, now)
    return _start(session, row, "full", policy, now, client_addr=client_addr, user_agent=user_agent)


def _refuse_password_change(
    session: Session, name: str, client_addr: str, policy: LoginPolicy, now: datetime
) -> NoReturn:
    """Count a wrong current password like a failed login, then refuse the change."""
    throttle.record_failure(
        session, name, client_addr, reason="password_change", now=now, throttle=policy.throttle
    )
    raise LoginFailedError("当前密码不正确", where="current_password")


def _check_new_password(row: Any, name: str, new: str, min_length: int) -> None:
    """InvalidInputError unless the new password passes the policy and differs from the current one."""
    check_password(new, name, min_length=min_length)
    if verify_password(row.password_hash, new):
        raise InvalidInputError("新密码不能与当前密码相同", where="password")


def _store_password(session: Session, row: Any, name: str, new: str, now: datetime) -> None:
    """Set the new password's hash and end every session of the account (audited)."""
    session.execute(_SET_PASSWORD, {"hash": hash_password(new), "now": now, "id": row.id})
    ended = sessions.end_sessions(session, name, by=name, reason="password_changed", now=now)
    audit.record(
        session, name, "password_change", table="users", target=row.id, detail={"sessions_ended": ended}
    )


def log_out(session: Session, name: str, session_id: str, *, everywhere: bool, now: datetime) -> int:
    """End this session, or every session of the account; how many ended. Audited; the caller commits."""
    if everywhere:
        ended = sessions.end_sessions(session, name, by=name, reason="logout_everywhere", now=now)
    else:
        ended = int(sessions.end_session(session, session_id, by=name, reason="logout", now=now))
    audit.record(
        session,
        name,
        "logout_all" if everywhere else "logout",
        table="user_sessions",
        detail={"ended": ended},
    )
    return ended
