"""FastAPI dependencies: the session, settings, and the requesting user with their area.

`get_current_user` is the one place every route gets its user: from a bearer token or the login cookie,
checked against the users table (a disabled account stops at once). `get_db` hands routes a session that
runs as the row-level-security role `gridgov_app` with the user's area, actor and clearance set for
every transaction of the request, so the database itself keeps each user inside their area.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from api.security import AuthSettings, NotAuthenticatedError, check_csrf, decode_token, read_token
from api.settings import ApiSettings

APP_ROLE = "gridgov_app"
CLEARED_ROLES = frozenset({"commander", "dispatcher", "admin"})
_ACCESS_KEY = "gridgov_access"

# One round trip: area, actor, clearance, then the role (set_config('role', ...) is SET LOCAL ROLE).
_CONFIGURE = text(
    "SELECT set_config('gridgov.area', :area, true), set_config('gridgov.actor', :actor, true), "
    "set_config('gridgov.unmasked', :unmasked, true), set_config('role', :role, true)"
)


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, closed at the end; write routes commit once (runs as the login role)."""
    session = request.app.state.sessionmaker()
    try:
        yield session
    finally:
        session.close()


def get_settings(request: Request) -> ApiSettings:
    """The app's API settings."""
    return request.app.state.api_settings


def get_auth(request: Request) -> AuthSettings:
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


def get_current_user(
    request: Request, session: RawSessionDep, auth: Annotated[AuthSettings, Depends(get_auth)]
) -> CurrentUser:
    """The requesting user: 401 without a valid token of an active account; 403 on a failed CSRF check."""
    from geo.accounts import find_user

    token, from_cookie = read_token(request)
    claims = decode_token(auth, token)
    if from_cookie:
        check_csrf(request, claims)
    account = find_user(session, claims["sub"])
    if account is None or not account.active:
        raise NotAuthenticatedError("账号不存在或已停用")
    return CurrentUser(account.name, account.role, account.area, account.worker_id)


def _configure(conn: Any, access: dict[str, str]) -> None:
    conn.execute(_CONFIGURE, access)


@event.listens_for(Session, "after_begin")
def _on_begin(session: Session, transaction: Any, connection: Any) -> None:
    """Every transaction of a request session starts as the app role with the request's area."""
    access = session.info.get(_ACCESS_KEY)
    if access:
        _configure(connection, access)


def access_for(user: CurrentUser) -> dict[str, str]:
    """The per-transaction settings of a user's requests."""
    if not user.area.isdigit():
        raise NotAuthenticatedError("账号的辖区无效")
    return {
        "area": user.area,
        "actor": user.name,
        "unmasked": "on" if user.cleared else "off",
        "role": APP_ROLE,
    }


def get_db(
    session: RawSessionDep, user: Annotated[CurrentUser, Depends(get_current_user)]
) -> Iterator[Session]:
    """The request's session, restricted by row-level security to the user's area (see module doc)."""
    access = access_for(user)
    session.info[_ACCESS_KEY] = access
    if session.in_transaction():  # the user lookup already began one
        _configure(session, access)
    try:
        yield session
    finally:
        session.info.pop(_ACCESS_KEY, None)


SessionDep = Annotated[Session, Depends(get_db)]
SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
UserDep = Annotated[CurrentUser, Depends(get_current_user)]
