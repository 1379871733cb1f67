"""Test fixtures on a real PostGIS.

The session starts a throwaway cluster from the installed PostgreSQL binaries (scripts/pgcluster.sh,
as the `postgres` user when we are root) unless GRID_TEST_DATABASE_URL points at an existing
server. It migrates and loads the demo county once; each test then runs in a transaction that is
rolled back, so app code may commit and nothing leaks. PostGIS not starting is a failure, never a skip.

The product's clock (geo.clock) is pinned for the whole run at TEST_NOW, the first instant after the
demo year (loaded until DEMO_UNTIL), and pinned there again for every test: no test reads the real
clock, and a test that moves the clock (clock.advance) moves it for itself only.
"""

import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from geo import clock
from geo.db.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
# Timeouts of the app under test are sized for a loaded 2-core CI machine, not for production: a
# statement or a wait for a pooled connection that is merely slow must not fail a test.
os.environ.setdefault("GRID_DB_STATEMENT_TIMEOUT_MS", "300000")
os.environ.setdefault("GRID_DB_POOL_TIMEOUT_S", "120")
# Every run signs its tokens with a secret of its own (never one written anywhere: tests/test_secrets.py).
os.environ.setdefault("GRID_AUTH_SECRET", secrets.token_urlsafe(48))
DEMO_UNTIL = date(2026, 11, 27)  # fixed so that every run sees the same demo county
DEMO_SEED = 620121
TEST_NOW = datetime.fromisoformat("2026-11-28T00:00:00+08:00")  # the demo year has just ended


@pytest.fixture(scope="session", autouse=True)
def session_clock() -> Iterator[clock.PinnedClock]:
    """The product's clock, pinned at TEST_NOW for the session's fixtures (the demo load among them)."""
    with clock.pinned(TEST_NOW) as pinned:
        yield pinned


@pytest.fixture(autouse=True)
def test_clock(session_clock: clock.PinnedClock) -> Iterator[clock.PinnedClock]:
    """The clock of one test, pinned at TEST_NOW; `test_clock.advance(...)` moves it for this test only."""
    with clock.pinned(TEST_NOW) as pinned:
        yield pinned


def fast_analytics():  # noqa: ANN201
    """Job settings for tests: fewer permutations and weeks, so the demo's analyses take seconds."""
    from geo.analytics.risk import RiskSettings
    from geo.analytics.settings import AnalyticsSettings
    from geo.jobs.tasks import Context
    from geo.settings import JobSettings

    return Context(
        analytics=AnalyticsSettings(_env_file=None, permutations=99, weeks=12),
        risk=RiskSettings(_env_file=None),
        jobs=JobSettings(_env_file=None),
    )


ANALYSIS_AREAS = ("620121", "620121001", "620121003")  # the county and the townships tests look at


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
    from tests.apps import app_url

    url = create_database(pg_server, "gridgov_empty")
    engine = create_engine(url)
    upgrade(engine, app_url=app_url(url))  # and the app's login (roles are the server's: one for all)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT postgis_lib_version()")).scalar()
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def demo_db_url(pg_server: str, empty_db_url: str) -> str:
    """A database holding the demo county (loaded once per session)."""
    from geo.demo import load_demo
    from geo.jobs.tasks import compute_all

    url = create_database(pg_server, "gridgov_demo", template="gridgov_empty")
    engine = create_engine(url)
    with Session(engine) as session:
        load_demo(session, seed=DEMO_SEED, until=DEMO_UNTIL, progress=False)
        compute_all(session, "620121", fast_analytics(), extra_areas=ANALYSIS_AREAS)
        session.commit()
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def engine(demo_db_url: str) -> Iterator[Engine]:
    """Engine on the demo database."""
    eng = create_engine(demo_db_url, pool_size=5)
    yield eng
    eng.dispose()


@contextmanager
def _rolled_back_session(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back at the end (the test's commits are savepoints)."""
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
def db_session(engine: Engine) -> Iterator[Session]:
    """A session on the demo database, rolled back after the test."""
    with _rolled_back_session(engine) as session:
        yield session


@pytest.fixture
def empty_session(pg_server: str, empty_db_url: str) -> Iterator[Session]:
    """A session on an empty migrated database, rolled back after the test."""
    eng = create_engine(empty_db_url)
    try:
        with _rolled_back_session(eng) as session:
            yield session
    finally:
        eng.dispose()


@pytest.fixture
def fresh_db_url(pg_server: str, empty_db_url: str, request: pytest.FixtureRequest) -> str:
    """A brand-new migrated database for tests that must really commit (cloned from the empty template)."""
    return create_database(pg_server, f"gridgov_t_{abs(hash(request.node.nodeid)) % 10**8}", "gridgov_empty")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the clock canary first: a shifted pass whose shift missed a clock says so before any date test fails."""
    items.sort(key=lambda item: not item.nodeid.startswith("tests/ops/test_clock_canary.py::"))
