"""Accounts and tokens for tests: create a user in the target database and authenticate a client.

    client = authed(TestClient(app), url)                       # county-wide commander, bearer header
    client = authed(TestClient(app), url, role="dispatcher", area="620121001")

Tokens are issued directly with the app's secret, for a session started in the database (argon2 logins
take ~0.4 s each on this machine); `login()` goes through POST /api/auth/token where a test is about the
login itself. The app's secret is the session's GRID_AUTH_SECRET (tests.conftest: random per run).
"""

from datetime import timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from api.security import AuthSettings, issue_token
from geo import clock
from geo.access.sessions import start_session

TEST_PASSWORD = "test-password-1"  # noqa: S105


@lru_cache
def _test_hash() -> str:
    from geo.accounts import hash_password

    return hash_password(TEST_PASSWORD)


def test_auth() -> AuthSettings:
    """The auth settings of the apps tests build (tests.apps: no .env file), secret resolved."""
    return AuthSettings(_env_file=None).with_secret()


test_auth.__test__ = False  # type: ignore[attr-defined]


def _sqlalchemy_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@lru_cache
def owner_engine(url: str) -> Engine:
    """An engine on `url` that keeps no connection open (a database copied as a template must be idle)."""
    return create_engine(_sqlalchemy_url(url), poolclass=NullPool)


def ensure_user(
    url: str,
    role: str = "commander",
    area: str = "620121",
    *,
    name: str | None = None,
    worker_id: int | None = None,
    department_id: int | None = None,
) -> str:
    """Create or update the account `name` (default t_ROLE_AREA) in the database at `url`; returns the name.
    A department account needs its department_id."""
    name = name or f"t_{role}_{area}"
    with owner_engine(url).begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (name, password_hash, role, area, worker_id, department_id) "
                "VALUES (:n, :h, :r, :a, :w, :d) ON CONFLICT (name) DO UPDATE "
                "SET role = :r, area = :a, worker_id = :w, department_id = :d, active = true, password_hash = :h, "
                "must_change_password = false, password_changed_at = NULL"
            ),
            {"n": name, "h": _test_hash(), "r": role, "a": area, "w": worker_id, "d": department_id},
        )
    return name


# Sessions the helpers start outlive any clock a test pins (tests of timeouts start their own).
LONG = timedelta(days=3650)


def start_test_session(
    conn: Any, name: str, *, scope: str = "full", lifetime: timedelta = LONG, idle: timedelta = LONG
) -> tuple[str, Any]:
    """Start a session of the account `name` on an owner's connection or session: (id, expires_at)."""
    user_id = conn.execute(text("SELECT id FROM users WHERE name = :n"), {"n": name}).scalar_one()
    return start_session(conn, user_id, scope=scope, now=clock.now(), lifetime=lifetime, idle=idle)


def session_for(url: str, name: str, **kw: Any) -> tuple[str, Any]:
    """Start a session of the account in the database at `url`: (session id, expires_at)."""
    with owner_engine(url).begin() as conn:
        return start_test_session(conn, name, **kw)


class _Account:
    def __init__(self, name: str, role: str, area: str, worker_id: int | None) -> None:
        self.name, self.role, self.area, self.worker_id = name, role, area, worker_id


def token_for(
    url: str,
    name: str,
    role: str = "commander",
    area: str = "620121",
    settings: AuthSettings | None = None,
    worker_id: int | None = None,
) -> str:
    """A bearer token of a new session of an existing account, signed with the app's secret."""
    auth = settings or test_auth()
    sid, expires_at = session_for(url, name)
    token, _csrf, _age = issue_token(auth, _Account(name, role, area, worker_id), sid, expires_at=expires_at)
    return token


def bearer(url: str, role: str = "commander", area: str = "620121", **kw: Any) -> dict[str, str]:
    """The Authorization header of a (created) account."""
    name = ensure_user(url, role, area, **kw)
    return {"Authorization": f"Bearer {token_for(url, name, role, area, worker_id=kw.get('worker_id'))}"}


def authed(client: Any, url: str, role: str = "commander", area: str = "620121", **kw: Any) -> Any:
    """The client, with a bearer header of a (created) account on every request."""
    state = getattr(getattr(client, "app", None), "state", None)
    auth = state.settings.auth if state is not None and hasattr(state, "settings") else None
    name = ensure_user(url, role, area, **kw)
    client.headers["Authorization"] = f"Bearer {token_for(url, name, role, area, auth, kw.get('worker_id'))}"
    return client


def login(client: Any, name: str, password: str = TEST_PASSWORD) -> Any:
    """POST /api/auth/token with the password form; the response (cookies land on the client)."""
    return client.post("/api/auth/token", data={"username": name, "password": password})


def browser_cookies(base_url: str, url: str, role: str = "commander", area: str = "620121") -> list[dict]:
    """Login cookies for a Playwright context on base_url (context.add_cookies(...))."""
    from api.security import CSRF_COOKIE, TOKEN_COOKIE

    name = ensure_user(url, role, area)
    auth = test_auth()
    sid, expires_at = session_for(url, name)
    token, csrf, _ = issue_token(auth, _Account(name, role, area, None), sid, expires_at=expires_at)
    return [
        {"name": TOKEN_COOKIE, "value": token, "url": base_url, "httpOnly": True, "sameSite": "Lax"},
        {"name": CSRF_COOKIE, "value": csrf, "url": base_url, "sameSite": "Lax"},
    ]
