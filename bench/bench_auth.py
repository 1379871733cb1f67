"""A bench account and its bearer token, for benchmarks that start the app under uvicorn.

Every route needs a login: the bench creates (or updates) an account with the area it measures in
the bench database (geo.accounts, users table of migration 0006) and signs a token with a secret of
its own, which it hands to the server it starts through GRID_AUTH_SECRET.

    secret, headers = bench_login(url, "620121", name="bench_layers")
    env["GRID_AUTH_SECRET"] = secret; httpx.get(..., headers=headers)
"""

import secrets

from pydantic import SecretStr
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from api.security import AuthSettings, issue_token
from geo.accounts import create_user, find_user


def _sqlalchemy_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def ensure_account(url: str, name: str, role: str, area: str) -> None:
    """Create the account in the database at `url`, or set its role and area if it exists."""
    engine = create_engine(_sqlalchemy_url(url))
    try:
        with Session(engine) as session, session.begin():
            if find_user(session, name) is None:
                create_user(session, name, secrets.token_urlsafe(24), role=role, area=area)
            else:
                session.execute(
                    text("UPDATE users SET role = :r, area = :a, active = true WHERE name = :n"),
                    {"n": name, "r": role, "a": area},
                )
    finally:
        engine.dispose()


def bench_login(url: str, area: str, *, name: str, role: str = "commander") -> tuple[str, dict[str, str]]:
    """(secret for the server's GRID_AUTH_SECRET, Authorization header) of a bench account in `area`."""
    ensure_account(url, name, role, area)
    secret = secrets.token_urlsafe(48)
    token, _csrf, _age = issue_token(AuthSettings(_env_file=None, secret=SecretStr(secret)), name, role, area)
    return secret, {"Authorization": f"Bearer {token}"}
