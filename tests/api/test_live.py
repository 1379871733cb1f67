"""GET /api/live: server-sent events from PostgreSQL NOTIFY, filtered by the user's area."""

import json
import queue
import threading

import httpx
import pytest

from tests.api.console_fixtures import copy_demo
from tests.apps import app_for
from tests.auth_helpers import bearer
from tests.browser import serve_app

TOWN = "620121003"  # 中堡镇
INSIDE = (103.388, 36.722)  # WGS84, 620121-002-011-007: outside 中堡镇


@pytest.fixture(scope="module")
def live_db(pg_server, engine):
    return copy_demo(pg_server, engine, "live_demo")


@pytest.fixture(scope="module")
def base_url(live_db):
    app = app_for(live_db)
    with serve_app(app) as url:
        yield url


def read_events(base_url: str, headers: dict, out: queue.Queue, streams: list) -> None:
    """Collect (event, data) frames of one stream into `out` (runs in a thread; the test closes it)."""
    try:
        with httpx.stream("GET", base_url + "/api/live", headers=headers, timeout=30) as r:
            streams.append(r)
            out.put(("status", r.status_code))
            kind = None
            for line in r.iter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    out.put((kind, line[6:]))
                    if kind == "live":
                        return  # leaving the block closes the connection: the server must notice
    except (httpx.HTTPError, RuntimeError):  # closed by the test
        return


def next_frame(out: queue.Queue, kind: str, timeout: float = 5.0) -> str:
    while True:
        k, data = out.get(timeout=timeout)
        if k == kind:
            return data


def test_live_needs_a_login(base_url):
    assert httpx.get(base_url + "/api/live").status_code == 401


def test_live_sends_cases_of_the_users_area_only(base_url, live_db):
    town = bearer(live_db, "dispatcher", TOWN)
    county = bearer(live_db, "commander", "620121")
    frames: queue.Queue = queue.Queue()
    streams: list = []
    reader = threading.Thread(target=read_events, args=(base_url, town, frames, streams), daemon=True)
    reader.start()
    try:
        assert frames.get(timeout=10) == ("status", 200)
        assert json.loads(next_frame(frames, "ready", 10))["area"] == TOWN
        report = {
            "category": "neighbour",
            "severity": 2,
            "title": "外乡镇",
            "lon": INSIDE[0],
            "lat": INSIDE[1],
        }
        other = httpx.post(base_url + "/api/events", json=report, headers=county).json()
        town_case = httpx.post(
            base_url + "/api/events",
            json={**report, "title": "本乡镇", "lon": 103.23585, "lat": 36.82221},
            headers=county,
        ).json()
        assert town_case["grid_code"].startswith(TOWN), town_case
        message = json.loads(next_frame(frames, "live"))
        assert message["id"] == town_case["id"] != other["id"]  # the other township's case never came
        assert message["action"] == "reported" and message["grid_code"].startswith(TOWN)
        assert set(message) == {"id", "kind", "category", "status", "grid_code", "lon", "lat", "action", "at"}
    finally:
        for r in streams:
            r.close()  # the server sees the disconnect and drops the subscriber
        reader.join(timeout=5)
