"""FastAPI dependencies: the settings, the session, and the requesting user with their area.

`get_current_user` is the one place every route gets its user: from a bearer token or the login cookie
(signed claims: name, role, area, worker, session). `get_db` hands routes a session whose every
transaction starts by checking those claims and the session against the database and switching to the
row-level-security role `gridgov_app` with the user's area, actor, role and clearance
(geo.access.checks.authorize): an ended session or a changed account stops at its next query, and the
database itself keeps each user inside their area. Routes that never touch the database take
`CheckedUserDep`, which checks the account explicitly.

Two writes a request may cause besides its own, both small: the session's `last_seen_at` (at most once
a minute per session and process, its own transaction: the idle timeout counts from it), and for a
cleared requester the audit row of personal data the database handed out unmasked (written by the
commit: `_commit_with_audit_row`; a cleared requester's read transaction is committed for it, an
uncleared one's rolled back as before).
Dependencies that do no I/O are `async def`: FastAPI runs them on the event loop instead of a thread.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from anyio import Semaphore, move_on_after
from fastapi import Depends, Request
from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.replica import choose_engine, is_replica
from api.security import (
    PASSWORD_PATHS,
    AuthError,
    AuthSettings,
    NotAuthenticatedError,
    check_csrf,
    decode_token,
    read_token,
)
from api.settings import Settings
from geo import audit, clock
from geo.access.checks import AccountRejectedError, authorize
from geo.access.sessions import TOUCH_EVERY, touch_session
from geo.accounts import CLEARED_ROLES
from geo.errors import PasswordChangeRequiredError

APP_ROLE = "gridgov_app"
# Department accounts run as a member of the app role whose own restrictive policies (geo/sql/policies.sql)
# show them only the cases whistled or referred to their department.
DB_ROLES = {"department": "gridgov_department"}
_ACCESS_KEY = "gridgov_access"
_REPLICA_KEY = "gridgov_replica"
_PRIMARY_KEY = "gridgov_primary"
_AUDIT_READS_KEY = "gridgov_audit_reads"  # on the connection: this transaction's commit writes the audit row
ACCOUNT_CHANGED = "登录已结束（已退出、超时或账号已停用、变更），请重新登录"


def db_slots(settings: Settings) -> Semaphore:
    """The app's database slots: as many as its pool has connections (one per app, made in its lifespan:
    a semaphore belongs to a loop)."""
    return Semaphore(settings.db.pool_size + settings.db.max_overflow)


@asynccontextmanager
async def _db_slot(request: Request) -> AsyncIterator[None]:
    """Hold one of the app's database slots for the request; the pool's TimeoutError (503) when none
    frees within the pool's timeout.

    Requests wait for a slot here, on the event loop, never in a thread waiting for a pooled connection:
    under overload such threads took every thread of the pool, and the requests holding the connections
    then waited for a thread to end their transactions (or encode their answer) until the pool's timeout
    failed them all. A request holds at most one connection at a time (the session touch and a
    replica's fallback run while its session holds none)."""
    slots: Semaphore = request.app.state.db_slots
    with move_on_after(request.app.state.settings.db.pool_timeout_s) as waited:
        await slots.acquire()
    if waited.cancelled_caught:
        raise PoolTimeoutError("no database connection was free within the pool's timeout")
    try:
        yield
    finally:
        slots.release()


async def get_settings(request: Request) -> Settings:
    """The app's settings (create_app's)."""
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def _session_on(request: Request, primary: bool) -> AsyncIterator[Session]:
    """A session on the database api.replica.choose_engine picks (or the primary), closed at the end.
    A cleared requester's reads are audited, a write: theirs go to the primary."""
    engine = request.app.state.engine if primary else await choose_engine(request, audited=_cleared(request))
    session = request.app.state.sessionmaker(bind=engine)
    session.info[_REPLICA_KEY] = is_replica(request, engine)
    session.info[_PRIMARY_KEY] = request.app.state.engine  # where the session touch writes
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


def _cleared(request: Request) -> bool:
    """Whether the request's user (if any) is cleared; a missing, bad or password-only login reads nothing
    audited, so it may read the replica (the route refuses it on its own)."""
    try:
        return request_user(request).cleared
    except (AuthError, PasswordChangeRequiredError):
        return False


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session per request, closed at the end; write routes commit once (runs as the login role).

    Reads may go to the replica (api.replica). Opening a session does no I/O, so this runs on the event
    loop; closing one that holds a connection rolls back (a round trip), which goes to the thread pool.
    """
    async with _db_slot(request):
        async for session in _session_on(request, primary=False):
            yield session


@dataclass(frozen=True)
class CurrentUser:
    """Who is asking and which area (grid-code prefix) they may see and act in, in which session."""

    name: str
    role: str
    area: str  # grid code prefix: "620121" is the whole county, "620121003" one township
    worker_id: int | None = None
    session_id: str = ""
    scope: str = "full"  # "password": may only change its password

    @property
    def cleared(self) -> bool:
        """True when the role may see names and phones unmasked (geo.accounts: read_unmasked)."""
        return self.role in CLEARED_ROLES


def user_from_claims(claims: dict[str, Any]) -> CurrentUser:
    """The user a verified token speaks for; 401 when its claims are incomplete."""
    role, area, worker_id = claims.get("role"), claims.get("area"), claims.get("wid")
    if not isinstance(role, str) or not isinstance(area, str) or not area.isdigit():
        raise NotAuthenticatedError("令牌无效，请重新登录")
    if worker_id is not None and not isinstance(worker_id, int):
        raise NotAuthenticatedError("令牌无效，请重新登录")
    scope = claims.get("scp") if claims.get("scp") in ("full", "password") else "full"
    return CurrentUser(claims["sub"], role, area, worker_id, claims["sid"], scope)


def user_of_request(request: Request, auth: AuthSettings) -> CurrentUser:
    """The user of the request's token: 401 without a valid token; 403 on a failed CSRF check, or when
    the session may only change its password and this is not the way there.

    Only the signature is checked here; the account and session themselves (active, same role/area/
    worker, not ended or idle) are checked by the first query of the request (see `get_db`), or by
    `check_account` where a route runs none.
    """
    token, from_cookie = read_token(request)
    claims = decode_token(auth, token)
    if from_cookie:
        check_csrf(request, claims)
    user = user_from_claims(claims)
    if user.scope != "full" and request.url.path not in PASSWORD_PATHS:
        raise PasswordChangeRequiredError("请先修改密码（首次登录、密码已过期或已被重置）", where="password")
    return user


_USER_KEY = "gridgov_user"


def request_user(request: Request) -> CurrentUser:
    """`user_of_request` by the app's auth settings, decoded once per request (the session's choice of
    database asks before the route's user dependency does); a refusal is kept and raised again."""
    found = getattr(request.state, _USER_KEY, None)
    if found is None:
        try:
            found = user_of_request(request, request.app.state.settings.auth)
        except (AuthError, PasswordChangeRequiredError) as exc:
            found = exc
        setattr(request.state, _USER_KEY, found)
    if isinstance(found, Exception):
        raise found
    return found


async def get_current_user(request: Request) -> CurrentUser:
    """The user of the request's token (see `request_user`)."""
    return request_user(request)


UserDep = Annotated[CurrentUser, Depends(get_current_user)]


def request_line(request: Request | None) -> str:
    """`GET /path?query` of a request (for the audit rows of reads), at most 300 characters."""
    if request is None:
        return ""
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{request.method} {request.url.path}{query}"[:300]


def access_for(user: CurrentUser, request: Request | None = None) -> dict[str, Any]:
    """The per-transaction settings of a user's requests (also what their account must still match)."""
    if not user.area.isdigit():
        raise NotAuthenticatedError("账号的辖区无效")
    return {
        "actor": user.name,
        "user_role": user.role,
        "area": user.area,
        "worker_id": user.worker_id,
        "unmasked": "on" if user.cleared else "off",
        "role": DB_ROLES.get(user.role, APP_ROLE),
        "session_id": user.session_id,
        "request": request_line(request),
    }


def _authorize(connection: Any, access: dict[str, Any]) -> None:
    try:
        authorize(connection, {**access, "now": clock.now()})
    except AccountRejectedError:
        raise NotAuthenticatedError(ACCOUNT_CHANGED) from None


@event.listens_for(Session, "after_begin")
def _on_begin(session: Session, transaction: Any, connection: Connection) -> None:
    """Every transaction of a request session starts checked, as the app role with the request's area;
    a cleared requester's is marked for the audit row of its commit (`_commit_with_audit_row`)."""
    access = session.info.get(_ACCESS_KEY)
    if access:
        _authorize(connection, access)
        connection.info[_AUDIT_READS_KEY] = access["unmasked"] == "on"


@event.listens_for(Engine, "commit")
def _commit_with_audit_row(connection: Connection) -> None:
    """A cleared requester's commit writes the audit row of the personal data the transaction handed out
    unmasked (none when it handed out none: geo.audit.AUDIT_PERSONAL_READ), in the same transaction and
    the same round trip as the COMMIT (geo.audit.commit_with_read_row)."""
    if connection.info.pop(_AUDIT_READS_KEY, False):
        audit.commit_with_read_row(connection)


@event.listens_for(Engine, "rollback")
def _no_audit_row(connection: Connection) -> None:
    """A rolled back transaction handed nothing out that its audit row would record."""
    connection.info.pop(_AUDIT_READS_KEY, None)
    audit.drop_note(connection)


# When this process last moved each session's last_seen_at (sessions.TOUCH_EVERY apart at most).
_TOUCHED: dict[str, datetime] = {}
_MAX_TOUCHED = 10_000


def _touch_due(user: CurrentUser, now: datetime) -> bool:
    last = _TOUCHED.get(user.session_id)
    return last is None or not timedelta(0) <= now - last < TOUCH_EVERY


def _touch(session: Session, user: CurrentUser, now: datetime) -> None:
    """Move the session's last_seen_at, in a transaction of its own on the primary (the request's own
    session may read the replica)."""
    primary = session.info.get(_PRIMARY_KEY)
    with Session(bind=primary) if primary is not None else session as writer:
        touch_session(writer, user.session_id, now)
        writer.commit()
    if len(_TOUCHED) >= _MAX_TOUCHED:
        _TOUCHED.clear()
    _TOUCHED[user.session_id] = now


async def touch_if_due(session: Session, user: CurrentUser) -> None:
    """Keep an active session from idling out: at most one write a minute per session and process."""
    now = clock.now()
    if user.session_id and _touch_due(user, now) and not session.in_transaction():
        await run_in_threadpool(_touch, session, user, now)


def touch_now_if_due(session: Session, user: CurrentUser) -> None:
    """`touch_if_due` for a route already running in the thread pool."""
    now = clock.now()
    if user.session_id and _touch_due(user, now) and not session.in_transaction():
        _touch(session, user, now)


async def _restricted(session: Session, request: Request, user: CurrentUser) -> AsyncIterator[Session]:
    """The session, restricted by row-level security to the user's area (see module doc).

    The session must not be inside a transaction yet: its first one is where the account is checked.
    On the replica that check runs at once, and one the replica refuses (a change it has not replayed
    yet) is repeated on the primary, whose session the route then gets.
    """
    if session.in_transaction():
        raise RuntimeError("a request's session must start outside a transaction (see api.deps)")
    await touch_if_due(session, user)
    session.info[_ACCESS_KEY] = access_for(user, request)
    if session.info.get(_REPLICA_KEY) and not await _replica_accepts(session):
        async for primary in _session_on(request, primary=True):
            async for restricted in _restricted(primary, request, user):
                yield restricted
        return
    try:
        yield session
        if session.in_transaction():  # an async route's: a sync one ended it in its thread (api.routing)
            await run_in_threadpool(end_transaction, session)
    finally:
        session.info.pop(_ACCESS_KEY, None)


async def _replica_accepts(session: Session) -> bool:
    """Check the account on the replica at once; False (and the session closed) when the replica refuses
    it, as it does a change it has not replayed yet."""
    try:
        await run_in_threadpool(session.connection)
    except NotAuthenticatedError:
        await run_in_threadpool(session.close)
        return False
    return True


async def get_db(
    request: Request, session: Annotated[Session, Depends(get_session)], user: UserDep
) -> AsyncIterator[Session]:
    """The request's session, restricted by row-level security to the user's area (see module doc)."""
    async for restricted in _restricted(session, request, user):
        yield restricted


def end_transaction(session: Session, *, succeeded: bool = True) -> None:
    """End a request session's transaction in the calling thread (a route's: api.routing): a cleared
    requester's commits when the route succeeded (the audit row of what it read), any other rolls back.
    The dependencies then have nothing left to end."""
    if not session.in_transaction():
        return
    access = session.info.get(_ACCESS_KEY)
    if succeeded and access is not None and access["unmasked"] == "on":
        session.commit()
    else:
        session.rollback()


def check_account(session: Session, user: CurrentUser) -> CurrentUser:
    """The user, after checking their account in a short transaction of its own (then rolled back)."""
    try:
        _authorize(session, access_for(user))
    finally:
        session.rollback()
    return user


async def get_checked_user(
    request: Request, session: Annotated[Session, Depends(get_session, scope="function")], user: UserDep
) -> CurrentUser:
    """For routes that run no query: the user, account checked (`SessionDep` routes get it from their
    first query); a refusal of the replica is checked again on the primary. Its session (and database
    slot) ends with the route's function, not its response: the live feed streams for hours."""
    await touch_if_due(session, user)
    try:
        return await run_in_threadpool(check_account, session, user)
    except NotAuthenticatedError:
        if not session.info.get(_REPLICA_KEY):
            raise
    with request.app.state.sessionmaker(bind=request.app.state.engine) as primary:
        return await run_in_threadpool(check_account, primary, user)


RawSessionDep = Annotated[Session, Depends(get_session)]  # no account check: login, health
SessionDep = Annotated[Session, Depends(get_db)]
CheckedUserDep = Annotated[CurrentUser, Depends(get_checked_user)]
