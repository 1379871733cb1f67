"""Test fixtures on a real PostGIS.

The session starts a throwaway cluster from the installed PostgreSQL binaries (scripts/pgcluster.sh,
as the `postgres` user when we are root) unless GRID_TEST_DATABASE_URL points at an existing
server. It migrates and loads the demo county once; each test then runs in a transaction that is
rolled back, so app code may commit and nothing leaks. PostGIS not starting is a failure, never a skip.
"""

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from geo.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
DEMO_UNTIL = date(2026, 11, 27)  # fixed so that every run sees the same demo county
DEMO_SEED = 620121


def _sqlalchemy_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """URL of a PostgreSQL server with PostGIS available (admin database)."""
    existing = os.environ.get("GRID_TEST_DATABASE_URL")
    if existing:
        yield existing
        return
    folder = Path(tempfile.mkdtemp(prefix="gridgov-pg-"))
    script = ROOT / "scripts" / "pgcluster.sh"
    env = {**os.environ, "PGCLUSTER_FAST": "1"}
    try:
        url = subprocess.run(
            ["bash", str(script), "start", str(folder)], check=True, capture_output=True, text=True, env=env
        ).stdout.strip()
    except subprocess.CalledProcessError as exc:  # fail loudly: spatial tests are never skipped
        pytest.fail(f"could not start PostgreSQL for the tests: {exc.stderr}")
    yield url
    subprocess.run(["bash", str(script), "stop", str(folder)], check=False)
    shutil.rmtree(folder, ignore_errors=True)


def create_database(server_url: str, name: str, template: str | None = None) -> str:
    """Create (or re-create) a database on the test server and return its SQLAlchemy URL."""
    admin = create_engine(_sqlalchemy_url(server_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        suffix = f' TEMPLATE "{template}"' if template else ""
        conn.execute(text(f'CREATE DATABASE "{name}"{suffix}'))
    admin.dispose()
    base = _sqlalchemy_url(server_url).rsplit("/", 1)[0]
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def empty_db_url(pg_server: str) -> str:
    """A migrated database with no grids or events (template for tests that need real commits)."""
    url = create_database(pg_server, "gridgov_empty")
    engine = create_engine(url)
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT postgis_lib_version()")).scalar()
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def demo_db_url(pg_server: str, empty_db_url: str) -> str:
    """A database holding the demo county (loaded once per session)."""
    from geo.demo import load_demo

    url = create_database(pg_server, "gridgov_demo", template="gridgov_empty")
    engine = create_engine(url)
    with Session(engine) as session:
        load_demo(session, seed=DEMO_SEED, until=DEMO_UNTIL, progress=False)
        session.commit()
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def engine(demo_db_url: str) -> Iterator[Engine]:
    """Engine on the demo database."""
    eng = create_engine(demo_db_url, pool_size=5)
    yield eng
    eng.dispose()


@pytest.fixture
def db_session(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test."""
    conn = engine.connect()
    trans = conn.begin()
    session = Session(bind=conn, join_transaction_mode="create_savepoint")
    try:
        yield session
    finally:
        session.close()
        trans.rollback()
        conn.close()


@pytest.fixture
def empty_session(pg_server: str, empty_db_url: str) -> Iterator[Session]:
    """A session on an empty migrated database, rolled back after the test."""
    eng = create_engine(empty_db_url)
    conn = eng.connect()
    trans = conn.begin()
    session = Session(bind=conn, join_transaction_mode="create_savepoint")
    try:
        yield session
    finally:
        session.close()
        trans.rollback()
        conn.close()
        eng.dispose()


@pytest.fixture
def fresh_db_url(pg_server: str, empty_db_url: str, request: pytest.FixtureRequest) -> str:
    """A brand-new migrated database for tests that must really commit (cloned from the empty template)."""
    return create_database(pg_server, f"gridgov_t_{abs(hash(request.node.nodeid)) % 10**8}", "gridgov_empty")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the clock canary first: a shifted pass whose shift missed a clock says so before any date test fails."""
    items.sort(key=lambda item: not item.nodeid.startswith("tests/ops/test_clock_canary.py::"))
