"""The clock canary: pytest and the test PostgreSQL agree on the time, and the shifted pass moved both.

`make test-shifted` (scripts/bootstrap.sh) runs the suite under libfaketime with every clock starting at
GRID_TEST_SHIFTED_TO. A shift that reached only Python, or only the server, or neither, or a clock that
stands still or cannot time a wait, fails here; tests/conftest.py runs these tests first.
"""

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

SHIFTED_TO = os.environ.get("GRID_TEST_SHIFTED_TO")
AGREE = timedelta(minutes=1)
# The canary runs first, once the throwaway server is up: well within this of the shifted start.
STARTUP = timedelta(minutes=30)


@pytest.fixture(scope="module")
def server_now(pg_server: str) -> Iterator[Callable[[], datetime]]:
    """Read now() on the test PostgreSQL (a fresh transaction each time)."""
    engine = create_engine(pg_server.replace("postgresql://", "postgresql+psycopg://", 1))

    def read() -> datetime:
        with engine.connect() as conn:
            return conn.execute(text("SELECT now()")).scalar_one()

    yield read
    engine.dispose()


def test_database_and_python_clocks_agree(server_now):
    before = datetime.now(UTC)
    server = server_now()
    after = datetime.now(UTC)
    assert before - AGREE <= server <= after + AGREE, f"PostgreSQL's now() is {server}, Python's {before}"


def test_clocks_run_and_timed_waits_end(server_now):
    def hung(signum, frame):
        raise AssertionError("a timed wait did not end: the clock it waits on is not the one it was timed on")

    old = signal.signal(signal.SIGALRM, hung)
    signal.setitimer(signal.ITIMER_REAL, 20)
    try:
        wall, server = time.time(), server_now()
        time.sleep(0.2)
        assert threading.Event().wait(0.2) is False
        assert time.time() - wall >= 0.4
        assert server_now() > server
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@pytest.mark.skipif(not SHIFTED_TO, reason="only in the shifted pass (make test-shifted)")
def test_shifted_pass_moved_both_clocks(server_now):
    start = datetime.fromisoformat(SHIFTED_TO or "")
    for name, moment in (("Python", datetime.now(UTC)), ("PostgreSQL", server_now())):
        assert start - AGREE <= moment <= start + STARTUP, (
            f"{name}'s clock says {moment}; the pass started at {start}"
        )
