"""The grid worker's phone view in headless Chromium: report, offline queue delivered once, tasks."""

import time

import httpx
import pytest

from tests.api import console_fixtures
from tests.api.console_fixtures import login, scalar
from tests.browser import PageReport, screenshot, watch

pytestmark = pytest.mark.browser
# the shared fixtures, bound here so that pytest finds them in this module
base_url = console_fixtures.base_url
browser = console_fixtures.browser
console_app = console_fixtures.console_app
console_db = console_fixtures.console_db
console_engine = console_fixtures.console_engine
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def worker(console_engine) -> dict:
    """The gridworker account's worker id, area, and a point inside one of its small grids (WGS84)."""
    with console_engine.connect() as conn:
        from sqlalchemy import text

        row = (
            conn.execute(
                text(
                    "SELECT u.worker_id, u.area, ST_X(p) AS lon, ST_Y(p) AS lat FROM users u, LATERAL ("
                    " SELECT ST_PointOnSurface(g.geom) AS p FROM grids g"
                    " WHERE g.level = 'grid' AND g.valid_to IS NULL AND g.code LIKE u.area || '%'"
                    " ORDER BY g.code LIMIT 1) s WHERE u.name = 'gridworker'"
                )
            )
            .mappings()
            .one()
        )
    return dict(row)


@pytest.fixture
def phone(browser, base_url, worker):
    """A logged-in phone-sized context with geolocation granted at the worker's grid."""
    context = browser.new_context(
        viewport=PHONE,
        locale="zh-CN",
        is_mobile=True,
        has_touch=True,
        permissions=["geolocation"],
        geolocation={"latitude": worker["lat"], "longitude": worker["lon"]},
    )
    page = context.new_page()
    report = PageReport()
    watch(page, report)
    login(page, base_url, "gridworker")
    assert page.url.endswith("/console/worker"), page.url
    page.wait_for_selector("#gw-category option", state="attached")
    page.wait_for_function("document.getElementById('gw-pos-text').textContent.includes('WGS84')")
    yield context, page, report
    context.close()


def queue(page) -> list:
    return page.evaluate("window.GridWorker.queue()")


def test_offline_report_is_queued_then_delivered_once(phone, console_engine, worker):
    context, page, report = phone
    assert report.clean, report.summary()
    before = scalar(console_engine, "SELECT count(*) FROM events")

    context.set_offline(True)
    page.wait_for_function("!navigator.onLine")
    page.check("input[name=kind][value=hazard]")
    page.select_option("#gw-category", "fire")
    page.select_option("#gw-severity", "3")
    page.fill("#gw-title", "离线上报测试：楼道堆放杂物")
    page.fill("#gw-desc", "三单元楼道堆放纸箱，影响消防通道")
    page.click("#gw-submit")
    page.wait_for_function("window.GridWorker.queue().length === 1")
    page.wait_for_timeout(500)  # give a (wrong) eager sender the chance to try
    [item] = queue(page)
    key = item["key"]
    assert len(key) == 36 and item["eventId"] is None
    assert scalar(console_engine, "SELECT count(*) FROM idempotency_keys WHERE key = :k", k=key) == 0
    assert scalar(console_engine, "SELECT count(*) FROM events") == before
    assert "离线" in page.inner_text("#gw-net")
    screenshot(page, "console_worker_offline")

    context.set_offline(False)  # fires 'online': the queue flushes with the same key
    page.wait_for_function("window.GridWorker.queue().length === 0", timeout=20_000)
    page.evaluate("window.GridWorker.flush()")  # a second flush must not send it again
    page.wait_for_timeout(300)
    assert scalar(console_engine, "SELECT count(*) FROM events") == before + 1
    assert scalar(console_engine, "SELECT count(*) FROM idempotency_keys WHERE key = :k", k=key) == 1
    event_id = scalar(console_engine, "SELECT event_id FROM idempotency_keys WHERE key = :k", k=key)
    row = scalar(
        console_engine,
        "SELECT row_to_json(e)::text FROM (SELECT kind, category, severity, status, grid_code,"
        " round(ST_X(geom)::numeric, 5) AS lon FROM events WHERE id = :i) e",
        i=event_id,
    )
    assert '"category":"fire"' in row and '"severity":3' in row and worker["area"] in row
    assert report.clean, report.summary()


def test_report_with_photo_and_tasks(phone, console_engine, base_url, worker, tmp_path):
    context, page, report = phone
    # a PNG made by the browser itself: a real image of a real type
    png = page.evaluate(
        "(() => { const c = document.createElement('canvas'); c.width = 40; c.height = 30;"
        " const g = c.getContext('2d'); g.fillStyle = '#c00'; g.fillRect(0, 0, 40, 30);"
        " return c.toDataURL('image/png').split(',')[1]; })()"
    )
    import base64

    path = tmp_path / "scene.png"
    path.write_bytes(base64.b64decode(png))
    page.check("input[name=kind][value=dispute]")
    page.select_option("#gw-category", "neighbour")
    page.fill("#gw-title", "邻里噪音纠纷")
    page.set_input_files("#gw-photo", str(path))
    page.click("#gw-submit")
    # The page shrinks the photo before queueing the report, so an empty queue right after the click
    # proves nothing: wait for the case and its photo in the database, then for the queue to empty.
    sql = (
        "SELECT count(*) FROM event_photos p JOIN events e ON e.id = p.event_id"
        " WHERE e.title = '邻里噪音纠纷' AND p.content_type = 'image/jpeg' AND p.uploaded_by = 'gridworker'"
    )
    deadline = time.monotonic() + 20
    while (photos := scalar(console_engine, sql)) < 1 and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert photos == 1
    page.wait_for_function("window.GridWorker.queue().length === 0", timeout=20_000)

    # dispatch that case to the worker through the API (as the commander), then work it on the phone
    event_id = scalar(console_engine, "SELECT id FROM events WHERE title = '邻里噪音纠纷'")
    token = httpx.post(
        base_url + "/api/auth/token", data={"username": "commander", "password": "demo-commander-620121"}
    ).json()["access_token"]
    resp = httpx.post(
        f"{base_url}/api/events/{event_id}/assign",
        json={"worker_id": worker["worker_id"]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert resp.status_code == 200, resp.text
    page.click(".gw-tab[data-tab=tasks]")
    card = page.locator(f".gw-task[data-event-id='{event_id}']")
    card.wait_for()
    card.locator("button[data-to=in_progress]").click()
    card.locator("button[data-to=handled]").wait_for()
    card.locator("button[data-to=handled]").click()
    page.wait_for_function(
        f"!document.querySelector(\".gw-task[data-event-id='{event_id}'] button[data-to=handled]\")"
    )
    status = scalar(console_engine, "SELECT status FROM events WHERE id = :i", i=event_id)
    assert status == "handled"
    page.click(".gw-tab[data-tab=report]")
    page.wait_for_timeout(300)
    screenshot(page, "console_worker")
    assert report.clean, report.summary()
