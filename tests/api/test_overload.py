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


async def _burst(app, headers: dict, n: int) -> list[int]:  # noqa: ANN001
    """n concurrent GETs through the app, with two request threads; their status codes."""
    async with app.router.lifespan_context(app):
        to_thread.current_default_thread_limiter().total_tokens = int(
            __import__("os").environ.get("XT", "2")
        )  # fewer threads than requests
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            answers = await asyncio.gather(
                *(client.get("/api/categories", headers=headers) for _ in range(n))
            )
    return [r.status_code for r in answers]


def test_a_burst_wider_than_the_pool_and_the_threads_is_served_not_timed_out(demo_db_url: str) -> None:
    db = DbSettings(
        _env_file=None,
        url=app_url(demo_db_url),
        owner_url=demo_db_url,
        pool_size=1,
        max_overflow=0,
        pool_timeout_s=3.0,
    )
    app = create_app(Settings.load(env_file=None, db=db))
    headers = bearer(demo_db_url, "planner")
    # Before: the two threads waited for the one connection while its request waited for a thread to
    # encode its answer and close its session, until the pool's timeout answered 503 (500 then).
    assert asyncio.run(_burst(app, headers, 12)) == [200] * 12


async def _with_every_slot_taken(app, headers: dict) -> httpx.Response:  # noqa: ANN001
    async with app.router.lifespan_context(app):
        await app.state.db_slots.acquire()  # the only slot: another request holds it
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await client.get("/api/categories", headers=headers)


def test_a_request_that_finds_no_slot_within_the_pool_timeout_is_told_to_come_back(demo_db_url: str) -> None:
    db = DbSettings(
        _env_file=None,
        url=app_url(demo_db_url),
        owner_url=demo_db_url,
        pool_size=1,
        max_overflow=0,
        pool_timeout_s=0.2,
    )
    app = create_app(Settings.load(env_file=None, db=db))
    answer = asyncio.run(_with_every_slot_taken(app, bearer(demo_db_url, "planner")))
    assert answer.status_code == 503
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["detail"] == "当前请求过多，请稍后再试"
