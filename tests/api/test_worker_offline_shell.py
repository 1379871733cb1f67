"""The phone page's offline shell: the service worker and the manifest are served under /console/ and
name every other URL relative to themselves, so the app works under a root path (GRID_API_ROOT_PATH)."""

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.settings import ApiSettings
from tests.apps import app_for
from tests.auth_helpers import authed, ensure_user

SW = Path(__file__).resolve().parents[2] / "web" / "static" / "sw.js"


@pytest.fixture(scope="module")
def worker_client(demo_db_url):
    from sqlalchemy import create_engine, text

    engine = create_engine(demo_db_url)
    with engine.connect() as conn:
        wid, code = conn.execute(
            text("SELECT id, left(home_grid_code, 12) FROM workers ORDER BY id LIMIT 1")
        ).one()
    engine.dispose()
    ensure_user(demo_db_url, "grid_worker", code, name="t_shell_worker", worker_id=wid)
    app = app_for(demo_db_url, api=ApiSettings(_env_file=None, root_path="/grid"))
    with TestClient(app, root_path="/grid") as c:
        yield authed(c, demo_db_url, role="grid_worker", area=code, name="t_shell_worker", worker_id=wid)


def test_the_service_worker_is_served_for_the_console_scope(worker_client):
    r = worker_client.get("/console/sw.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert r.headers["cache-control"] == "no-cache"


def test_the_service_worker_names_no_absolute_path():
    source = SW.read_text(encoding="utf-8")
    quoted = re.findall(r'"([^"]*)"', source)
    assert not [q for q in quoted if q.startswith("/")], "absolute paths break under a root path"
    assert '"../static/js/worker_field.js"' in source and '"worker"' in source


def test_the_manifest_is_relative_and_the_page_links_it_under_the_root_path(worker_client):
    manifest = worker_client.get("/console/manifest.webmanifest")
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    body = json.loads(manifest.content)
    assert body["start_url"] == "worker" and body["scope"] == "./" and body["lang"] == "zh-CN"
    assert all(not icon["src"].startswith("/") for icon in body["icons"])
    page = worker_client.get("/console/worker")
    assert page.status_code == 200, page.text[:300]
    assert '<link rel="manifest" href="/grid/console/manifest.webmanifest">' in page.text
    assert 'data-fix-every="120"' in page.text and 'data-max-batch="200"' in page.text
