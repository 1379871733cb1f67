"""`gridgov serve` with two app processes (GRID_API_WORKERS): the live feed reaches a stream whichever
process took the write, and the caches of tiles and pages, one per process, never serve a tile older
than the data (each is keyed by the data_changes version it read: tests/layers/test_tile_cache.py)."""

import json
import math
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from geo import clock
from tests.api.console_fixtures import copy_demo
from tests.api.test_live import next_frame
from tests.apps import app_url
from tests.auth_helpers import bearer as pinned_bearer
from tests.browser import free_port
from tests.waits import WAIT_S

ROOT = Path(__file__).resolve().parents[2]
TOWN = "620121003"
POINT = (103.23585, 36.82221)  # in 中堡镇 (620121003)


@pytest.fixture(scope="module")
def server(pg_server, engine):
    url = copy_demo(pg_server, engine, "gridgov_processes")
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": app_url(url),  # the app's own login (serve refuses the owner)
        "GRID_DB_OWNER_URL": url,
        "GRID_API_WORKERS": "2",
        "GRID_JOBS_SERVE_WORKERS": "0",
    }
    args = [sys.executable, "-m", "cli.main", "serve", "--port", str(port)]
    proc = subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            if httpx.get(base + "/healthz", timeout=5).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, "serve did not start"
        time.sleep(0.2)
    yield base, url, proc
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=WAIT_S)


def bearer(url: str, role: str, area: str) -> dict:
    """A token the server accepts: `gridgov serve` is another process, on the system clock (it cannot
    share the test's pinned one), so its tokens are issued on that clock. No assertion here depends on
    a date."""
    with clock.pinned(clock.SystemClock().now()):
        return pinned_bearer(url, role, area)


def _children(pid: int) -> list[int]:
    out = subprocess.run(
        ["ps", "-ww", "-o", "pid=,args=", "--ppid", str(pid)], capture_output=True, text=True
    ).stdout
    return [int(line.split()[0]) for line in out.splitlines() if "spawn_main" in line]


def test_serve_runs_two_app_processes(server):
    _base, _url, proc = server
    assert len(_children(proc.pid)) == 2


def _report(title: str) -> dict:
    return {"category": "neighbour", "severity": 2, "title": title, "lon": POINT[0], "lat": POINT[1]}


def test_the_live_feed_gets_every_write_whichever_process_took_it(server):
    base, url, _proc = server
    town, county = bearer(url, "dispatcher", TOWN), bearer(url, "commander", "620121")
    frames: queue.Queue = queue.Queue()
    streams: list = []
    reader = threading.Thread(target=_read_all, args=(base, town, frames, streams), daemon=True)
    reader.start()
    try:
        assert frames.get(timeout=WAIT_S) == ("status", 200)
        next_frame(frames, "ready", WAIT_S)
        made = [
            httpx.post(base + "/api/events", json=_report(f"多进程{i}"), headers=county).json()["id"]
            for i in range(6)
        ]
        got = {json.loads(next_frame(frames, "live", WAIT_S))["id"] for _ in made}
        assert got == set(made)
    finally:
        for r in streams:
            r.close()
        reader.join(timeout=5)


def _read_all(base: str, headers: dict, out: queue.Queue, streams: list) -> None:
    """Like test_live.read_events, but keeps reading after the first live frame."""
    try:
        with httpx.stream("GET", base + "/api/live", headers=headers, timeout=WAIT_S) as r:
            streams.append(r)
            out.put(("status", r.status_code))
            kind = None
            for line in r.iter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    out.put((kind, line[6:]))
    except (httpx.HTTPError, RuntimeError):
        return


def _tile_path(z: int = 14) -> str:
    lon, lat = POINT
    x = int((lon + 180) / 360 * 2**z)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2**z)
    return f"/tiles/disputes/{z}/{x}/{y}.mvt"


def test_no_process_serves_a_tile_or_page_older_than_the_data(server):
    base, url, _proc = server
    county = bearer(url, "commander", "620121")
    items = f"/ogc/collections/disputes/items?bbox={POINT[0] - 0.01},{POINT[1] - 0.01},{POINT[0] + 0.01},{POINT[1] + 0.01}"

    def seen() -> tuple[set, set]:  # fresh connections: the kernel spreads them over both processes
        tiles = {httpx.get(base + _tile_path(), headers=county).headers.get("etag") for _ in range(12)}
        pages = {httpx.get(base + items, headers=county).json()["numberMatched"] for _ in range(12)}
        return tiles, pages

    tiles, pages = seen()  # both processes now hold the tile and the page
    assert len(tiles) == 1 and len(pages) == 1
    httpx.post(base + "/api/events", json=_report("缓存测试"), headers=county).raise_for_status()
    after_tiles, after_pages = seen()
    assert len(after_tiles) == 1 and after_tiles != tiles
    assert after_pages == {next(iter(pages)) + 1}
