"""FastAPI dependencies: the settings, the session, and the requesting user with their area.

`get_current_user` is the one place every route gets its user: from a bearer token or the login cookie
(signed claims: name, role, area, worker). `get_db` hands routes a session whose every transaction
starts by checking those claims against the users table and switching to the row-level-security role
`gridgov_app` with the user's area, actor and clearance (geo.accounts.authorize): a disabled or
changed account stops at its next query, and the database itself keeps each user inside their area.
Routes that never touch the database take `CheckedUserDep`, which checks the account explicitly.
Dependencies that do no I/O are `async def`: FastAPI runs them on the event loop instead of a thread.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import event
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.replica import choose_engine, is_replica
from api.security import AuthSettings, NotAuthenticatedError, check_csrf, decode_token, read_token
from api.settings import Settings
from geo.accounts import CLEARED_ROLES, AccountRejectedError, authorize

APP_ROLE = "gridgov_app"
_ACCESS_KEY = "gridgov_access"
_REPLICA_KEY = "gridgov_replica"
ACCOUNT_CHANGED = "账号不存在、已停用或已变更，请重新登录"


async def get_settings(request: Request) -> Settings:
    """The app's settings (create_app's)."""
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def _session_on(request: Request, primary: bool) -> AsyncIterator[Session]:
    """A session on the database api.replica.choose_engine picks (or the primary), closed at the end."""
    engine = request.app.state.engine if primary else await choose_engine(request)
    session = request.app.state.sessionmaker(bind=engine)
    session.info[_REPLICA_KEY] = is_replica(request, engine)
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session per request, closed at the end; write routes commit once (runs as the login role).

    Reads may go to the replica (api.replica). Opening a session does no I/O, so this runs on the event
    loop; closing one that holds a connection rolls back (a round trip), which goes to the thread pool.
    """
    async for session in _session_on(request, primary=False):
        yield session


@dataclass(frozen=True)
class CurrentUser:
    """Who is asking and which area (grid-code prefix) they may see and act in."""

    name: str
    role: str
    area: str  # grid code prefix: "620121" is the whole county, "620121003" one township
    worker_id: int | None = None

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
    return CurrentUser(claims["sub"], role, area, worker_id)


def user_of_request(request: Request, auth: AuthSettings) -> CurrentUser:
    """The user of the request's token: 401 without a valid token; 403 on a failed CSRF check.

    Only the signature is checked here; the account itself (active, same role/area/worker) is checked
    by the first query of the request (see `get_db`), or by `check_account` where a route runs none.
    """
    token, from_cookie = read_token(request)
    claims = decode_token(auth, token)
    if from_cookie:
        check_csrf(request, claims)
    return user_from_claims(claims)


async def get_current_user(request: Request) -> CurrentUser:
    """The user of the request's token (see `user_of_request`), by the app's auth settings."""
    return user_of_request(request, request.app.state.settings.auth)


UserDep = Annotated[CurrentUser, Depends(get_current_user)]


def access_for(user: CurrentUser) -> dict[str, Any]:
    """The per-transaction settings of a user's requests (also what their account must still match)."""
    if not user.area.isdigit():
        raise NotAuthenticatedError("账号的辖区无效")
    return {
        "actor": user.name,
        "user_role": user.role,
        "area": user.area,
        "worker_id": user.worker_id,
        "unmasked": "on" if user.cleared else "off",
        "role": APP_ROLE,
    }


def _authorize(connection: Any, access: dict[str, Any]) -> None:
    try:
        authorize(connection, access)
    except AccountRejectedError:
        raise NotAuthenticatedError(ACCOUNT_CHANGED) from None


@event.listens_for(Session, "after_begin")
def _on_begin(session: Session, transaction: Any, connection: Any) -> None:
    """Every transaction of a request session starts checked, as the app role with the request's area."""
    access = session.info.get(_ACCESS_KEY)
    if access:
        _authorize(connection, access)


async def _restricted(session: Session, request: Request, user: CurrentUser) -> AsyncIterator[Session]:
    """The session, restricted by row-level security to the user's area (see module doc).

    The session must not be inside a transaction yet: its first one is where the account is checked.
    On the replica that check runs at once, and one the replica refuses (a change it has not replayed
    yet) is repeated on the primary, whose session the route then gets.
    """
    if session.in_transaction():
        raise RuntimeError("a request's session must start outside a transaction (see api.deps)")
    session.info[_ACCESS_KEY] = access_for(user)
    if session.info.get(_REPLICA_KEY):
        try:
            await run_in_threadpool(session.connection)
        except NotAuthenticatedError:
            await run_in_threadpool(session.close)
            async for primary in _session_on(request, primary=True):
                async for restricted in _restricted(primary, request, user):
                    yield restricted
            return
    try:
        yield session
    finally:
        session.info.pop(_ACCESS_KEY, None)


async def get_db(
    request: Request, session: Annotated[Session, Depends(get_session)], user: UserDep
) -> AsyncIterator[Session]:
    """The request's session, restricted by row-level security to the user's area (see module doc)."""
    async for restricted in _restricted(session, request, user):
        yield restricted


def check_account(session: Session, user: CurrentUser) -> CurrentUser:
    """The user, after checking their account in a short transaction of its own (then rolled back)."""
    try:
        _authorize(session, access_for(user))
    finally:
        session.rollback()
    return user


def get_checked_user(
    request: Request, session: Annotated[Session, Depends(get_session)], user: UserDep
) -> CurrentUser:
    """For routes that run no query: the user, account checked (`SessionDep` routes get it from their
    first query); a refusal of the replica is checked again on the primary."""
    try:
        return check_account(session, user)
    except NotAuthenticatedError:
        if not session.info.get(_REPLICA_KEY):
            raise
    with request.app.state.sessionmaker(bind=request.app.state.engine) as primary:
        return check_account(primary, user)


RawSessionDep = Annotated[Session, Depends(get_session)]  # no account check: login, health
SessionDep = Annotated[Session, Depends(get_db)]
CheckedUserDep = Annotated[CurrentUser, Depends(get_checked_user)]
