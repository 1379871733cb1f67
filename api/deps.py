"""FastAPI dependencies: the session, settings, and the requesting user with their area.

`get_current_user` is the one place every route gets its user: from a bearer token or the login cookie
(signed claims: name, role, area, worker). `get_db` hands routes a session whose every transaction
starts by checking those claims against the users table and, in the same round trip, switching to the
row-level-security role `gridgov_app` with the user's area, actor and clearance: so a disabled or
changed account stops at its next query, and the database itself keeps each user inside their area.

Why the check rides on the session instead of running in a dependency of its own: a sync dependency
is a hop to the thread pool and back (~0.3 ms each on a 2-core machine), a generator dependency two.
Here the only hops of a request are the route itself and closing a session that was used. Routes that
never touch the database take `CheckedUserDep`, which checks the account explicitly. The hot read
routes (candidates, vector tiles) take `CheckedQueryDep`: check, query and commit pipelined in one
round trip on the event loop, no thread hop at all.
"""

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import ClauseElement, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.security import AuthSettings, NotAuthenticatedError, check_csrf, decode_token, read_token
from api.settings import ApiSettings
from geo.pipeline import AUTHORIZE, AccountRejectedError, compiled, is_account_rejected, run_checked

APP_ROLE = "gridgov_app"
CLEARED_ROLES = frozenset({"commander", "dispatcher", "admin"})
_ACCESS_KEY = "gridgov_access"

# The account check and the transaction's configuration is geo.pipeline.AUTHORIZE (gridgov_authorize,
# migration 0016): it raises unless the account is active and still has the token's role, area and
# worker; else it gives the transaction area, actor, clearance and then the role (from the next
# statement on).
ACCOUNT_CHANGED = "账号不存在、已停用或已变更，请重新登录"


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session per request, closed at the end; write routes commit once (runs as the login role).

    Opening a session does no I/O; closing one that holds a connection rolls back (a round trip), so
    that runs in the thread pool; closing an unused or committed one does not.

    Reads end with that ROLLBACK on purpose. psycopg forgets a connection's prepared statements on
    ROLLBACK, so read statements never live long enough for PostgreSQL to give them one generic plan
    for all parameter values. Ending reads with COMMIT instead (tried: it saves ~0.5 ms of planning
    on a case read) let a province commander's page of items switch to a generic plan on its
    twentieth run and take 7 s instead of 0.2 s; forcing custom plans then cancels the saving.
    """
    session = request.app.state.sessionmaker()
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


# Dependencies without I/O are `async def`: FastAPI runs them on the event loop instead of sending
# each to the thread pool.
async def get_settings(request: Request) -> ApiSettings:
    """The app's API settings."""
    return request.app.state.api_settings


async def get_auth(request: Request) -> AuthSettings:
    """The app's auth settings."""
    return request.app.state.auth_settings


@dataclass(frozen=True)
class CurrentUser:
    """Who is asking and which area (grid-code prefix) they may see and act in."""

    name: str
    role: str
    area: str  # grid code prefix: "620121" is the whole county, "620121003" one township
    worker_id: int | None = None

    @property
    def cleared(self) -> bool:
        """True when the role may see names and phones unmasked."""
        return self.role in CLEARED_ROLES


RawSessionDep = Annotated[Session, Depends(get_session)]


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
    by the first query of the request (see `get_db`), or by `get_checked_user` where a route runs none.
    """
    token, from_cookie = read_token(request)
    claims = decode_token(auth, token)
    if from_cookie:
        check_csrf(request, claims)
    return user_from_claims(claims)


async def get_current_user(request: Request) -> CurrentUser:
    """The user of the request's token (see `user_of_request`). The auth settings are read from the
    app, not through a dependency of their own: each dependency costs every request ~40 µs."""
    return user_of_request(request, request.app.state.auth_settings)


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


def authorize(conn: Any, access: dict[str, Any]) -> None:
    """Check the account and configure the transaction (see AUTHORIZE); 401 if the account changed."""
    try:
        conn.execute(AUTHORIZE, access)
    except DBAPIError as exc:
        if is_account_rejected(exc):
            raise NotAuthenticatedError(ACCOUNT_CHANGED) from None
        raise


@event.listens_for(Session, "after_begin")
def _on_begin(session: Session, transaction: Any, connection: Any) -> None:
    """Every transaction of a request session starts checked, as the app role with the request's area."""
    access = session.info.get(_ACCESS_KEY)
    if access:
        authorize(connection, access)


async def get_db(
    session: RawSessionDep, user: Annotated[CurrentUser, Depends(get_current_user)]
) -> AsyncIterator[Session]:
    """The request's session, restricted by row-level security to the user's area (see module doc).

    The session must not be inside a transaction yet: its first one is where the account is checked.
    """
    if session.in_transaction():
        raise RuntimeError("a request's session must start outside a transaction (see api.deps)")
    session.info[_ACCESS_KEY] = access_for(user)
    try:
        yield session
    finally:
        session.info.pop(_ACCESS_KEY, None)


@contextmanager
def user_session(request: Request, user: CurrentUser) -> Iterator[Session]:
    """A session restricted to the user as `get_db`'s, closed at the end: for a dependency that needs
    the database only now and then (a dependency of its own costs every request of its routes)."""
    session = request.app.state.sessionmaker()
    session.info[_ACCESS_KEY] = access_for(user)
    try:
        yield session
    finally:
        session.close()


def check_account(session: Session, user: CurrentUser) -> CurrentUser:
    """The user, after checking their account in a short transaction of its own (then rolled back)."""
    try:
        authorize(session, access_for(user))
    finally:
        session.rollback()
    return user


def get_checked_user(
    session: RawSessionDep, user: Annotated[CurrentUser, Depends(get_current_user)]
) -> CurrentUser:
    """For routes that run no query: the user, account checked (`SessionDep` routes get it from their
    first query)."""
    return check_account(session, user)


UserDep = Annotated[CurrentUser, Depends(get_current_user)]


@dataclass(frozen=True)
class CheckedQuery:
    """A request's few statements for the requesting user in one round trip: account check, the
    statements, commit (geo.pipeline), on the event loop. For the hot read routes; everything else
    takes `SessionDep`."""

    pool: AsyncConnectionPool
    user: CurrentUser

    async def one(self, clause: ClauseElement, params: dict[str, Any]) -> tuple | None:
        """The first row of the statement, run under row-level security as the user; 401 as get_db."""
        return (await self.rows([(clause, params)]))[0]

    async def rows(self, statements: list[tuple[ClauseElement, dict[str, Any]]]) -> list[tuple | None]:
        """The first row of each statement, run in order in one transaction and one round trip."""
        compiled_statements = [(compiled(clause), params) for clause, params in statements]
        try:
            return await run_checked(self.pool, access_for(self.user), compiled_statements)
        except AccountRejectedError:
            raise NotAuthenticatedError(ACCOUNT_CHANGED) from None


async def get_checked_query(request: Request, user: UserDep) -> CheckedQuery:
    """The request's `CheckedQuery` (no I/O until it runs)."""
    return CheckedQuery(request.app.state.pool, user)


SessionDep = Annotated[Session, Depends(get_db)]
CheckedQueryDep = Annotated[CheckedQuery, Depends(get_checked_query)]
SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
CheckedUserDep = Annotated[CurrentUser, Depends(get_checked_user)]
