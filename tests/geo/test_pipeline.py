"""geo.pipeline's own driving of libpq's pipeline mode, on one pooled connection of the demo database.

What psycopg's pipeline did for us and ours must do too: leave the connection clean after a statement
error or a refused statement, never reuse a connection whose pipeline was cut short, and keep the
prepared statements per connection bounded. (The transaction semantics are tested in
tests/api/test_pipeline.py.)
"""

import asyncio

import psycopg
import pytest
from sqlalchemy import text

from api.deps import CurrentUser, access_for
from geo import pipeline
from geo.pipeline import compiled, make_pool, run_checked
from geo.settings import DbSettings
from tests.auth_helpers import ensure_user

BACKEND = compiled(text("SELECT pg_backend_pid()"))


@pytest.fixture(scope="module")
def access(demo_db_url):
    ensure_user(demo_db_url, "commander", "620121", name="pipe_driver")
    return access_for(CurrentUser("pipe_driver", "commander", "620121"))


def _run(demo_db_url, body):
    """Run `body(pool)` on a pool of one connection."""

    async def main():
        async with make_pool(DbSettings(_env_file=None, url=demo_db_url, pool_size=1)) as pool:
            return await body(pool)

    return asyncio.run(main())


def test_errors_are_raised_and_leave_the_connection_usable(demo_db_url, access):
    bad_syntax = compiled(text("SELEC 1"))
    typed = compiled(text("SELECT CAST(:n AS int) + 1, CAST(:s AS text), CAST(:t AS timestamptz)"))

    async def body(pool):
        (pid,) = (await run_checked(pool, access, [(BACKEND, {})]))[0]
        for _ in range(2):  # a refused Prepare is not remembered: the second try fails the same way
            with pytest.raises(psycopg.errors.SyntaxError):
                await run_checked(pool, access, [(bad_syntax, {})])
        with pytest.raises(psycopg.errors.DivisionByZero):
            await run_checked(pool, access, [(compiled(text("SELECT 1/0")), {})])
        row = (
            await run_checked(pool, access, [(typed, {"n": 41, "s": "网格", "t": "2026-11-27T08:00:00Z"})])
        )[0]
        assert row[:2] == (42, "网格") and row[2].tzinfo is not None
        empty = await run_checked(pool, access, [(compiled(text("SELECT 1 WHERE false")), {})])
        assert empty == [None]
        return pid, (await run_checked(pool, access, [(BACKEND, {})]))[0][0]

    first, last = _run(demo_db_url, body)
    assert first == last  # the same connection served every call: errors did not cost it


def test_a_pipeline_cut_short_closes_its_connection_and_the_next_call_gets_a_fresh_one(demo_db_url, access):
    slow = compiled(text("SELECT pg_sleep(5)"))

    async def body(pool):
        (before,) = (await run_checked(pool, access, [(BACKEND, {})]))[0]
        task = asyncio.create_task(run_checked(pool, access, [(slow, {})]))
        await asyncio.sleep(0.3)  # the statement is running on the server
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        (after,) = (await run_checked(pool, access, [(BACKEND, {})]))[0]
        return before, after

    before, after = _run(demo_db_url, body)
    # Its answers were unread: the connection was closed, not reused. (psycopg's pool would also refuse
    # it back in this state; the pipeline closes it itself so as not to depend on that.)
    assert before != after


def test_prepared_statements_stay_bounded_per_connection(demo_db_url, access, monkeypatch):
    monkeypatch.setattr(pipeline, "_MAX_PREPARED", 5)
    count = compiled(text("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'gridgov%'"))

    async def body(pool):
        for n in range(12):  # twelve different statements, each prepared on first use
            assert (await run_checked(pool, access, [(compiled(text(f"SELECT {n}")), {})]))[0] == (n,)
        await run_checked(pool, access, [(count, {})])  # prepares the count, deallocates one more after it
        return (await run_checked(pool, access, [(count, {})]))[0][0]

    assert _run(demo_db_url, body) <= 5


def test_statements_the_server_lost_are_prepared_again_on_a_fresh_connection(demo_db_url, access):
    discard = compiled(text("DEALLOCATE ALL"))  # what a pooler's reset or a stray DISCARD ALL does

    async def body(pool):
        (before,) = (await run_checked(pool, access, [(BACKEND, {})]))[0]
        await run_checked(pool, access, [(discard, {})])
        (after,) = (await run_checked(pool, access, [(BACKEND, {})]))[0]  # no error: run again
        (again,) = (await run_checked(pool, access, [(BACKEND, {})]))[0]
        return before, after, again

    before, after, again = _run(demo_db_url, body)
    assert before != after == again
