"""A bench account and its bearer token, for benchmarks that start the app under uvicorn.

Every route needs a login: the bench creates (or updates) an account with the area it measures in
the bench database (geo.accounts, users table of migration 0006) and signs a token with a secret of
its own, for a session it starts in the database, and hands the secret to the server it starts through
GRID_AUTH_SECRET. The server logs in as the app's own login (`app_env`: never the owner, which
`gridgov serve` refuses); `gridgov migrate` with both URLs set makes that login.

    secret, headers = bench_login(url, "620121", name="bench_layers")
    env.update(app_env(url), GRID_AUTH_SECRET=secret); httpx.get(..., headers=headers)
"""

import secrets
from datetime import datetime, timedelta
from types import SimpleNamespace
from urllib.parse import urlsplit, urlunsplit

from pydantic import SecretStr
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from api.security import AuthSettings, issue_token
from geo import clock
from geo.access.sessions import start_session
from geo.accounts import create_user, find_user

APP_LOGIN = "gridgov_web"


def app_env(url: str) -> dict[str, str]:
    """The environment of a bench server on the database at `url` (the owner's): the app's own login as
    DATABASE_URL (and GRID_DB_URL), the owner as GRID_DB_OWNER_URL."""
    parts = urlsplit(url)
    app = urlunsplit(parts._replace(netloc=f"{APP_LOGIN}@{parts.netloc.rpartition('@')[2]}"))
    return {"DATABASE_URL": app, "GRID_DB_URL": app, "GRID_DB_OWNER_URL": url}


def _sqlalchemy_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def ensure_account(url: str, name: str, role: str, area: str) -> None:
    """Create the account in the database at `url`, or set its role and area if it exists."""
    engine = create_engine(_sqlalchemy_url(url))
    try:
        with Session(engine) as session, session.begin():
            if find_user(session, name) is None:  # demo: exempt from the password policy and its change
                create_user(session, name, secrets.token_urlsafe(24), role=role, area=area, demo=True)
            else:
                session.execute(
                    text("UPDATE users SET role = :r, area = :a, active = true WHERE name = :n"),
                    {"n": name, "r": role, "a": area},
                )
    finally:
        engine.dispose()


def bench_session(url: str, area: str, *, name: str, role: str = "commander") -> tuple[str, datetime]:
    """(session id, expiry) of a day-long session of a bench account in `area` (made if missing)."""
    ensure_account(url, name, role, area)
    engine = create_engine(_sqlalchemy_url(url))
    try:
        with Session(engine) as session, session.begin():
            user_id = find_user(session, name).id  # type: ignore[union-attr]
            day = timedelta(days=1)
            return start_session(session, user_id, scope="full", now=clock.now(), lifetime=day, idle=day)
    finally:
        engine.dispose()


def bench_login(url: str, area: str, *, name: str, role: str = "commander") -> tuple[str, dict[str, str]]:
    """(secret for the server's GRID_AUTH_SECRET, Authorization header) of a bench account in `area`."""
    sid, expires_at = bench_session(url, area, name=name, role=role)
    secret = secrets.token_urlsafe(48)
    account = SimpleNamespace(name=name, role=role, area=area, worker_id=None)
    auth = AuthSettings(_env_file=None, secret=SecretStr(secret))
    token, _csrf, _age = issue_token(auth, account, sid, expires_at=expires_at)
    return secret, {"Authorization": f"Bearer {token}"}
