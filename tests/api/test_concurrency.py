"""Twenty dispatchers at once, over real HTTP to a uvicorn server on loopback, with real commits.

Exactly one assignment of one case wins; exactly one case gets a worker's last free capacity; twenty
resends of one report under one Idempotency-Key make one case. Then the rows are checked.
"""

import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from sqlalchemy import create_engine, text

from api.main import create_app
from geo.settings import DbSettings
from tests.apps import app_url, settings_for
from tests.auth_helpers import bearer
from tests.dispatch_tiny import add_event, build
from tests.waits import WAIT_S

N = 20
AUTH: dict[str, str] = {}


@pytest.fixture(scope="module")
def server(pg_server: str, empty_db_url: str) -> Iterator[tuple[str, object, dict]]:
    """A committed tiny county and a uvicorn server in a thread; yields (base URL, engine, ids)."""
    from tests.conftest import create_database

    url = create_database(pg_server, "gridgov_concurrency", template="gridgov_empty")
    engine = create_engine(url)
    with engine.begin() as conn:
        ids = build(conn)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(
        settings_for(url).but(
            db=DbSettings(_env_file=None, url=app_url(url), owner_url=url, pool_size=N, max_overflow=5)
        )
    )
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", workers=1)
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    AUTH.update(bearer(url, "dispatcher", "620121"))
    yield f"http://127.0.0.1:{port}", engine, ids
    uv.should_exit = True
    thread.join(10)
    engine.dispose()


def _race(base: str, calls: list[tuple[str, dict, dict]]) -> list[httpx.Response]:
    """Fire the calls from N threads released together by a barrier."""
    barrier = threading.Barrier(len(calls))
    results: list[httpx.Response | None] = [None] * len(calls)

    def run(i: int) -> None:
        path, body, headers = calls[i]
        with httpx.Client(base_url=base, timeout=WAIT_S, headers=AUTH) as client:
            barrier.wait()
            results[i] = client.post(path, json=body, headers=headers)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return [r for r in results if r is not None]


def test_twenty_dispatchers_assign_one_case_exactly_once(server):
    base, engine, ids = server
    with engine.begin() as conn:
        event = add_event(conn)
        workers = [ids[n] for n in ("owner", "village", "skilled", "township", "county")]
        before = dict(conn.execute(text("SELECT id, open_tasks FROM workers")).all())
    calls = [(f"/api/events/{event}/assign", {"worker_id": workers[i % len(workers)]}, {}) for i in range(N)]
    responses = _race(base, calls)
    assert Counter(r.status_code for r in responses) == {200: 1, 409: N - 1}
    winner = next(r for r in responses if r.status_code == 200).json()["assignee_id"]
    with engine.connect() as conn:
        row = conn.execute(text("SELECT status, assignee_id FROM events WHERE id = :e"), {"e": event}).one()
        after = dict(conn.execute(text("SELECT id, open_tasks FROM workers")).all())
        logs = conn.execute(
            text("SELECT count(*) FROM event_log WHERE event_id = :e AND action = 'assign'"), {"e": event}
        ).scalar()
    assert tuple(row) == ("dispatched", winner)
    assert {w: after[w] - before[w] for w in after if after[w] != before[w]} == {winner: 1}
    assert logs == 1


def test_twenty_cases_race_for_a_workers_last_free_slot(server):
    base, engine, ids = server
    worker = ids["township"]
    with engine.begin() as conn:
        conn.execute(text("UPDATE workers SET capacity = open_tasks + 1 WHERE id = :w"), {"w": worker})
        events = [add_event(conn, 103.015, 36.015) for _ in range(N)]
    responses = _race(base, [(f"/api/events/{e}/assign", {"worker_id": worker}, {}) for e in events])
    assert Counter(r.status_code for r in responses) == {200: 1, 409: N - 1}
    with engine.connect() as conn:
        dispatched = (
            conn.execute(
                text("SELECT id FROM events WHERE id = ANY(:ids) AND status = 'dispatched'"), {"ids": events}
            )
            .scalars()
            .all()
        )
        assigned = conn.execute(
            text("SELECT count(*) FROM events WHERE id = ANY(:ids) AND assignee_id IS NOT NULL"),
            {"ids": events},
        ).scalar()
        full = conn.execute(
            text("SELECT open_tasks = capacity FROM workers WHERE id = :w"), {"w": worker}
        ).scalar()
        logs = conn.execute(
            text("SELECT count(*) FROM event_log WHERE event_id = ANY(:ids)"), {"ids": events}
        ).scalar()
    assert len(dispatched) == 1 and assigned == 1 and full and logs == 1


def test_twenty_resends_of_one_report_make_one_case(server):
    base, engine, _ = server
    body = {"category": "fire", "severity": 3, "title": "并发上报", "lon": 103.012, "lat": 36.012}
    responses = _race(base, [("/api/events", body, {"Idempotency-Key": "race-1"})] * N)
    assert Counter(r.status_code for r in responses) == {201: 1, 200: N - 1}
    assert len({r.json()["id"] for r in responses}) == 1
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM events WHERE title = '并发上报'")).scalar() == 1
