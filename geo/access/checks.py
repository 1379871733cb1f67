"""The account and session check that starts every request transaction (migrations 0016, 0030, 0050).

gridgov_authorize raises SQLSTATE 28000 unless the account is active with the token's role, area and
worker and its session is live, GGPWD when the session may only change its password, and otherwise
configures the transaction: area, actor, role, clearance, request, then the row-level-security role.
It goes out with the transaction's BEGIN in one round trip (psycopg's pipeline): sent as a statement
of its own, the BEGIN and the check were two round trips before every request's first query.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from psycopg import Error as DriverError
from psycopg.errors import InvalidAuthorizationSpecification
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from geo import clock
from geo.errors import PasswordChangeRequiredError

AUTHORIZE_SQL = (
    "SELECT gridgov_authorize(%(actor)s, %(user_role)s, %(area)s, %(worker_id)s, %(unmasked)s, %(role)s,"
    " %(session_id)s, %(now)s, %(request)s)"
)
_AUTHORIZE_KEYS = ("actor", "user_role", "area", "worker_id", "unmasked", "role", "session_id", "request")
_CHECK = text(
    "SELECT gridgov_check_account(:actor, :user_role, :area, :worker_id, :session_id, :now, :any_scope)"
)
PASSWORD_SQLSTATE = "GGPWD"


class AccountRejectedError(Exception):
    """gridgov_authorize refused the account: missing, disabled, changed since its token, or its session
    ended."""


def authorize_params(access: dict[str, Any]) -> dict[str, Any]:
    """The parameters of AUTHORIZE_SQL for a request's access settings (api.deps.access_for)."""
    return {**{k: access[k] for k in _AUTHORIZE_KEYS}, "now": access.get("now") or clock.now()}


def authorize(connection: Connection | Session, access: dict[str, Any]) -> None:
    """Check a request's account and session and configure its transaction; AccountRejectedError when
    either ended or changed, PasswordChangeRequiredError when the session may only change its password."""
    driver = _driver(connection)
    with _refusals(access["actor"]), driver.pipeline():
        driver.execute(AUTHORIZE_SQL, authorize_params(access))


def check_session(connection: Connection | Session, access: dict[str, Any], *, any_scope: bool) -> None:
    """The account and session check alone (no role switch): for logout and the password change."""
    params = {k: access[k] for k in ("actor", "user_role", "area", "worker_id", "session_id")}
    with _refusals(access["actor"]):
        connection.execute(_CHECK, {**params, "now": clock.now(), "any_scope": any_scope})


def _driver(connection: Connection | Session) -> Any:
    """The psycopg connection under a SQLAlchemy connection or session (a session's begins here)."""
    bound = connection.connection() if isinstance(connection, Session) else connection
    return bound.connection.driver_connection


@contextmanager
def _refusals(actor: str) -> Iterator[None]:
    """The database's refusals as the domain's: SQLSTATE 28000 (AccountRejectedError), GGPWD
    (PasswordChangeRequiredError); any other error as it came. The pipeline raises the driver's own
    errors, SQLAlchemy's statements wrap them."""
    try:
        yield
    except (DBAPIError, DriverError) as exc:
        error = exc.orig if isinstance(exc, DBAPIError) else exc
        if isinstance(error, InvalidAuthorizationSpecification):
            raise AccountRejectedError(actor) from None
        if getattr(error, "sqlstate", None) == PASSWORD_SQLSTATE:
            raise PasswordChangeRequiredError(
                "请先修改密码（首次登录、密码已过期或已被重置）", where="password"
            ) from None
        raise
