"""Overload does not lock the app up: requests wait for a database slot on the event loop, never in a
thread waiting for a pooled connection (api.deps._db_slot)."""

import asyncio

import httpx
from anyio import to_thread

from api.main import create_app
from api.settings import Settings
from geo.settings import DbSettings
from tests.apps import app_url
from tests.auth_helpers import bearer


def _one_slot_app(url: str, pool_timeout_s: float):  # noqa: ANN202
    """The app with a pool of one connection and no overflow: one database slot."""
    db = DbSettings(_env_file=None, url=app_url(url), owner_url=url, pool_size=1, max_overflow=0)
    return create_app(
        Settings.load(env_file=None, db=db.model_copy(update={"pool_timeout_s": pool_timeout_s}))
    )


async def _gets(app, headers: dict, n: int, *, slot_taken: bool = False) -> list[httpx.Response]:  # noqa: ANN001
    """n concurrent GETs through the app with two request threads (and its only slot taken, if asked)."""
    async with app.router.lifespan_context(app):
        to_thread.current_default_thread_limiter().total_tokens = 2  # fewer threads than requests
        if slot_taken:
            await app.state.db_slots.acquire()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await asyncio.gather(*(client.get("/api/categories", headers=headers) for _ in range(n)))


def test_a_burst_wider_than_the_pool_and_the_threads_is_served_not_timed_out(demo_db_url: str) -> None:
    app, headers = _one_slot_app(demo_db_url, pool_timeout_s=3.0), bearer(demo_db_url, "planner")
    # Before: the two threads waited for the one connection while its request waited for a thread to
    # encode its answer and close its session, until the pool's timeout failed them all (500).
    assert [r.status_code for r in asyncio.run(_gets(app, headers, 12))] == [200] * 12


def test_a_request_that_finds_no_slot_within_the_pool_timeout_is_told_to_come_back(demo_db_url: str) -> None:
    app, headers = _one_slot_app(demo_db_url, pool_timeout_s=0.2), bearer(demo_db_url, "planner")
    (answer,) = asyncio.run(_gets(app, headers, 1, slot_taken=True))
    assert answer.status_code == 503
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["detail"] == "当前请求过多，请稍后再试"
