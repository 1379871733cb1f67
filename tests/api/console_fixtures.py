"""Shared fixtures of the planner and grid-worker console tests: a committed copy of the demo county.

The browser flows commit (reports, transitions), so they run on `console_b_demo`, a copy of the
session's demo database with the demo accounts (geo.accounts.create_demo_accounts) added.
"""

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from tests.apps import app_for
from tests.browser import chromium, serve_app
from tests.conftest import create_database

COUNTY = "620121"


def password(name: str) -> str:
    """The fixed demo password of a demo account."""
    return f"demo-{name}-{COUNTY}"


def copy_demo(pg_server: str, engine, name: str) -> str:
    """A committed copy of the demo database. PostgreSQL copies a template only while nobody is
    connected to it, so the session's demo engine first drops its idle pooled connections."""
    from sqlalchemy.exc import OperationalError

    engine.dispose()
    for attempt in range(20):  # a just-closed connection's backend can take a moment to exit
        try:
            return create_database(pg_server, name, template="gridgov_demo")
        except OperationalError as exc:
            if "being accessed by other users" not in str(exc) or attempt == 19:
                raise
            time.sleep(0.5)
    raise AssertionError("unreachable")


def copy_demo_with_accounts(pg_server: str, engine, name: str) -> str:
    """`copy_demo`, with the county's demo accounts (geo.accounts.create_demo_accounts) committed."""
    from geo.accounts import create_demo_accounts

    url = copy_demo(pg_server, engine, name)
    copy = create_engine(url)
    with Session(copy) as session:
        create_demo_accounts(session, COUNTY)
        session.commit()
    copy.dispose()
    return url


@pytest.fixture(scope="module")
def console_db(pg_server, engine) -> str:
    """A committed copy of the demo database, with the demo accounts."""
    return copy_demo_with_accounts(pg_server, engine, "console_b_demo")


@pytest.fixture(scope="module")
def console_engine(console_db) -> Iterator:
    eng = create_engine(console_db)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def console_app(console_db):
    return app_for(console_db)


@pytest.fixture(scope="module")
def base_url(console_app) -> Iterator[str]:
    with serve_app(console_app) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with chromium() as b:
        yield b


def scalar(engine, sql: str, **params):
    """One value from the database (as its owner: not subject to RLS)."""
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def login(page, base_url: str, name: str) -> None:
    """Log in through the /login form, as a person would; lands on the role's console view."""
    page.goto(base_url + "/login", wait_until="networkidle")
    page.fill("#username", name)
    page.fill("#password", password(name))
    with page.expect_navigation(wait_until="networkidle"):
        page.click("button[type=submit]")
