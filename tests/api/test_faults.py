"""Faults and load: the database restarts under a running app (503, then recovery without a restart),
and a bounded load on loopback (layer items and candidates) with zero errors.

The restart test runs its own PostgreSQL cluster (scripts/pgcluster.sh in a temp folder), so stopping it
disturbs no other test; it is started again on the same port.
"""

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from api.main import create_app
from bench.bench_load_http import open_event_ids, request_paths, run_load
from geo.db.migrate import upgrade
from geo.settings import DbSettings
from tests.apps import app_for, app_url, settings_for
from tests.auth_helpers import authed, bearer
from tests.browser import serve_app
from tests.dispatch_tiny import build

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "pgcluster.sh"


def _cluster(cmd: str, folder: Path, port: str | None = None) -> str:
    args = ["bash", str(SCRIPT), cmd, str(folder)] + ([port] if port else [])
    done = subprocess.run(args, capture_output=True, text=True, env={**os.environ, "PGCLUSTER_FAST": "1"})
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture(scope="module")
def own_cluster():
    folder = Path(tempfile.mkdtemp(prefix="gridgov-fault-"))
    url = _cluster("start", folder)
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    upgrade(engine, app_url=app_url(url))  # a cluster of its own: its own app login too
    with engine.begin() as conn:
        build(conn)
    engine.dispose()
    yield folder, url
    _cluster("stop", folder)
    shutil.rmtree(folder, ignore_errors=True)


TILE = "/tiles/disputes/12/3223/1598.mvt"  # a pipelined read (geo.pipeline): its own pool


def test_database_restart_gives_503_then_recovers_by_itself(own_cluster):
    folder, url = own_cluster
    port = url.rsplit(":", 1)[1].split("/")[0]
    db = DbSettings(_env_file=None, url=app_url(url), owner_url=url, pool_size=2, pool_timeout_s=1)
    app = create_app(settings_for(url).but(db=db))
    with TestClient(app) as client:
        authed(client, url, "dispatcher", "620121")
        assert client.get("/api/board").status_code == 200
        assert client.get(TILE).status_code in (200, 204)
        _cluster("stop", folder)
        for path in ("/api/board", "/ogc/collections/disputes/items", "/healthz", TILE):
            resp = client.get(path)
            assert resp.status_code == 503, (path, resp.text)
            assert resp.headers["content-type"].startswith("application/problem+json")
            body = resp.json()
            assert body["code"] == "db_unavailable" and "数据库" in body["detail"]
        assert _cluster("start", folder, port) == url
        deadline = time.monotonic() + 30
        while (status := client.get("/api/board").status_code) != 200 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert status == 200
        assert client.get("/ogc/collections/disputes/items").status_code == 200
        # The async pool reconnects by itself too, within a few seconds.
        deadline = time.monotonic() + 15
        while (status := client.get(TILE).status_code) not in (200, 204) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert status in (200, 204)


def test_bounded_load_on_loopback_has_no_errors(demo_db_url, capsys):
    headers = bearer(demo_db_url, "dispatcher", "620121", name="load_test")
    paths = request_paths(open_event_ids(demo_db_url, "620121", 50), 240)
    app = app_for(demo_db_url, pool_size=8)
    with serve_app(app) as base:
        result = run_load(base, headers, paths, threads=8)
    with capsys.disabled():
        print(f"\nload (loopback, 8 threads): {result.summary()}")  # noqa: T201
    assert result.errors == [] and len(result.latencies_ms) == 240
