"""Fixtures of the security tests: a committed tiny county per module, apps and logins on it.

Each module gets a database of its own (logins, locks and sessions are real commits), cloned from the
empty template and filled with the tiny dispatch county (tests.dispatch_tiny).
"""

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from tests.apps import app_for
from tests.auth_helpers import TEST_PASSWORD, ensure_user
from tests.dispatch_tiny import build


@pytest.fixture(scope="module")
def sec(pg_server, empty_db_url, request) -> Iterator[SimpleNamespace]:
    """(url, engine, ids) of a committed tiny county for this module."""
    from tests.conftest import create_database

    url = create_database(
        pg_server, f"gridgov_sec_{request.module.__name__.rsplit('.', 1)[-1]}", "gridgov_empty"
    )
    engine = create_engine(url)
    with engine.begin() as conn:
        ids = build(conn)
    yield SimpleNamespace(url=url, engine=engine, ids=ids)
    engine.dispose()


@pytest.fixture(scope="module")
def sec_app(sec):
    """The app on the module's county."""
    return app_for(sec.url)


def client_from(app, addr: str = "198.51.100.1") -> TestClient:
    """A client of the app calling from `addr` (login throttling counts by client address)."""
    return TestClient(app, client=(addr, 50000))


def login_as(client: TestClient, name: str, password: str = TEST_PASSWORD, **headers: str):
    """POST the login form; the response (its cookies land on the client)."""
    return client.post("/api/auth/token", data={"username": name, "password": password}, headers=headers)


def bearer_of(resp) -> dict[str, str]:
    """The Authorization header of a login response."""
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


def account(sec, role: str, name: str, area: str = "620121", worker_id: int | None = None) -> str:
    """A committed account with the test password."""
    return ensure_user(sec.url, role, area, name=name, worker_id=worker_id)


def scalar(sec, sql: str, **params):
    """One value, read as the owner."""
    with sec.engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()
