"""The app's login role: created (or brought back into line) by `gridgov migrate` from the app's URL.

It is a LOGIN role that is neither superuser nor owner, creates nothing, bypasses no row-level security,
and is a member of the roles whose grants and policies geo/sql/policies.sql writes: gridgov_app (the
requests, after SET ROLE), gridgov_department (department accounts' requests) and gridgov_auth
(logging in). A password in the URL is set as a SCRAM-SHA-256 verifier computed here, so the clear
password never reaches the server's logs.
"""

import re
from urllib.parse import unquote, urlsplit

from psycopg import sql
from sqlalchemy import Connection, text

from geo.errors import InvalidInputError

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def login_of(url: str) -> tuple[str, str | None]:
    """(user, password) of a database URL."""
    parts = urlsplit(url)
    if not parts.username:
        raise InvalidInputError(
            "the app's database URL names no user (postgresql://USER@host/db)", where="url"
        )
    return unquote(parts.username), unquote(parts.password) if parts.password else None


def _check_role_name(name: str) -> None:
    """InvalidInputError unless the login is a plain lower-case role name (it is written into SQL)."""
    if not _NAME.match(name):
        raise InvalidInputError(
            f"the app's login must be a plain lower-case role name; got {name!r}", where="url"
        )


def ensure_login_role(conn: Connection, url: str) -> str | None:
    """Create or align the app's login role of `url` (on an owner's connection that may create roles).
    Returns its name, or None when `url` logs in as the connection's own role (nothing to do: the app
    would then be the owner, which `gridgov serve` refuses)."""
    name, password = login_of(url)
    _check_role_name(name)
    if name == conn.execute(text("SELECT current_user")).scalar_one():
        return None
    raw = conn.connection.dbapi_connection
    ident = sql.Identifier(name).as_string(raw)
    exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name}).first()
    verb = "ALTER" if exists else "CREATE"
    conn.exec_driver_sql(
        f"{verb} ROLE {ident} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT"
    )
    if password:
        verifier = raw.pgconn.encrypt_password(password.encode(), name.encode(), b"scram-sha-256").decode()
        conn.exec_driver_sql(f"ALTER ROLE {ident} PASSWORD {sql.Literal(verifier).as_string(raw)}")
    conn.exec_driver_sql(f"GRANT gridgov_app, gridgov_auth, gridgov_department TO {ident}")
    return name
