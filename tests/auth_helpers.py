"""Accounts and tokens for tests: create a user in the target database and authenticate a client.

    client = authed(TestClient(app), url)                       # county-wide commander, bearer header
    client = authed(TestClient(app), url, role="dispatcher", area="620121001")

Tokens are issued directly with the app's secret (argon2 logins take ~0.4 s each on this machine);
`login()` goes through POST /api/auth/token where a test is about the login itself.
"""

from functools import lru_cache
from typing import Any

from sqlalchemy import create_engine, text

from api.security import AuthSettings, issue_token

TEST_PASSWORD = "test-password-1"  # noqa: S105


@lru_cache
def _test_hash() -> str:
    from geo.accounts import hash_password

    return hash_password(TEST_PASSWORD)


def test_auth() -> AuthSettings:
    """The auth settings of the apps tests build (tests.apps: no .env file)."""
    return AuthSettings(_env_file=None)


test_auth.__test__ = False  # type: ignore[attr-defined]


def _sqlalchemy_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


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
    engine = create_engine(_sqlalchemy_url(url))
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO users (name, password_hash, role, area, worker_id, department_id) "
                    "VALUES (:n, :h, :r, :a, :w, :d) ON CONFLICT (name) DO UPDATE "
                    "SET role = :r, area = :a, worker_id = :w, department_id = :d, active = true, password_hash = :h"
                ),
                {"n": name, "h": _test_hash(), "r": role, "a": area, "w": worker_id, "d": department_id},
            )
    finally:
        engine.dispose()
    return name


def token_for(
    name: str,
    role: str = "commander",
    area: str = "620121",
    settings: AuthSettings | None = None,
    worker_id: int | None = None,
) -> str:
    """A bearer token for an existing account, signed with the app's secret."""
    token, _csrf, _age = issue_token(settings or test_auth(), name, role, area, worker_id)
    return token


def bearer(url: str, role: str = "commander", area: str = "620121", **kw: Any) -> dict[str, str]:
    """The Authorization header of a (created) account."""
    name = ensure_user(url, role, area, **kw)
    return {"Authorization": f"Bearer {token_for(name, role, area, worker_id=kw.get('worker_id'))}"}


def authed(client: Any, url: str, role: str = "commander", area: str = "620121", **kw: Any) -> Any:
    """The client, with a bearer header of a (created) account on every request."""
    state = getattr(getattr(client, "app", None), "state", None)
    auth = state.settings.auth if state is not None and hasattr(state, "settings") else None
    name = ensure_user(url, role, area, **kw)
    client.headers["Authorization"] = f"Bearer {token_for(name, role, area, auth, kw.get('worker_id'))}"
    return client


def login(client: Any, name: str, password: str = TEST_PASSWORD) -> Any:
    """POST /api/auth/token with the password form; the response (cookies land on the client)."""
    return client.post("/api/auth/token", data={"username": name, "password": password})


def browser_cookies(base_url: str, url: str, role: str = "commander", area: str = "620121") -> list[dict]:
    """Login cookies for a Playwright context on base_url (context.add_cookies(...))."""
    name = ensure_user(url, role, area)
    token, csrf, _ = issue_token(test_auth(), name, role, area)
    from api.security import CSRF_COOKIE, TOKEN_COOKIE

    return [
        {"name": TOKEN_COOKIE, "value": token, "url": base_url, "httpOnly": True, "sameSite": "Lax"},
        {"name": CSRF_COOKIE, "value": csrf, "url": base_url, "sameSite": "Lax"},
    ]
