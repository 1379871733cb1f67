"""The grid worker's phone view in headless Chromium: report, offline queue delivered once, tasks; and
the same deadline, in county time, on the phone and on the dispatcher's desk of a device far away."""

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import text

from geo.vocabulary import label, vocabulary
from tests.api import console_fixtures
from tests.api.console_fixtures import login, password, scalar
from tests.browser import PageReport, new_context, pinned_clock, screenshot, watch
from tests.waits import WAIT_MS, WAIT_S

pytestmark = pytest.mark.browser
# the shared fixtures, bound here so that pytest finds them in this module
base_url = console_fixtures.base_url
browser = console_fixtures.browser
console_app = console_fixtures.console_app
console_db = console_fixtures.console_db
console_engine = console_fixtures.console_engine
PHONE = {"width": 390, "height": 844}
FAR_AWAY = "America/New_York"  # 12-13 hours from Beijing: any time printed in the device's zone shows


@pytest.fixture(scope="module")
def worker(console_engine) -> dict:
    """The gridworker account's worker id, area, and a point inside one of its small grids (WGS84)."""
    with console_engine.connect() as conn:
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
    context = new_context(
        browser,
        viewport=PHONE,
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
    page.wait_for_function("window.GridWorker.queue().length === 0", timeout=WAIT_MS)
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
    page.wait_for_function("window.GridWorker.queue().length === 0", timeout=WAIT_MS)

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


def _token(base_url: str, name: str) -> dict:
    r = httpx.post(base_url + "/api/auth/token", data={"username": name, "password": password(name)})
    return {"Authorization": "Bearer " + r.json()["access_token"]}


def _assigned_case(base_url: str, engine, worker: dict, deadline: datetime) -> int:
    """A case reported and assigned to the gridworker through the API (as the commander), whose deadline
    is then set to `deadline`; returns its id."""
    commander = _token(base_url, "commander")
    body = {
        "category": "neighbour",
        "severity": 2,
        "title": "时限显示测试",
        "lon": worker["lon"],
        "lat": worker["lat"],
    }
    headers = {**commander, "Idempotency-Key": f"deadline-zone-{deadline.timestamp():.0f}"}
    r = httpx.post(base_url + "/api/events", json=body, headers=headers, timeout=WAIT_S)
    assert r.status_code == 201, r.text
    event_id = r.json()["id"]
    r = httpx.post(
        f"{base_url}/api/events/{event_id}/assign", json={"worker_id": worker["worker_id"]}, headers=commander
    )
    assert r.status_code == 200, r.text
    with engine.begin() as conn:
        conn.execute(text("UPDATE events SET deadline_at = :d WHERE id = :i"), {"d": deadline, "i": event_id})
    case = httpx.get(f"{base_url}/api/events/{event_id}", headers=commander).json()
    assert case["overdue"] is True  # the server's flag, at its (pinned) instant
    return event_id


def _with_field(route, event_id: int, **extra) -> None:
    """Answer a case request (one case or a task list) from the server, with `extra` added to the case."""
    response = route.fetch()
    body = response.json()
    for case in body if isinstance(body, list) else [body]:
        if case.get("id") == event_id:
            case.update(extra)
    route.fulfill(response=response, json=body)


def _open(context, url: str, name: str):
    """A page of `context` at `url`, logged in as `name` through the /login form it is sent to."""
    page = context.new_page()
    report = PageReport()
    watch(page, report)
    page.goto(url)
    page.fill("#username", name)
    page.fill("#password", password(name))
    page.click("button[type=submit]")
    page.wait_for_url(url, timeout=WAIT_MS)
    return page, report


def _timeline(page) -> list:
    """[action, label shown, whole text] of each timeline entry, newest first."""
    return page.eval_on_selector_all(
        "#timeline li",
        "els => els.map(el => [el.dataset.action, el.querySelector('b').textContent, el.textContent])",
    )


PROVISIONAL = "时限待定（节假日安排未导入）"
# Draw the dispatcher's case again from the server (select() resolves once it has drawn it).
REDRAW = "id => { document.getElementById('case-meta').innerHTML = ''; return GGDispatcher.select(id); }"


def test_deadline_reads_the_same_in_county_time_on_phone_and_desk(browser, base_url, console_engine, worker):
    # The server's clock is pinned and the browsers follow it (tests.browser.pinned_clock); the devices
    # themselves sit in New York. Both pages must print the deadline as Python does in Asia/Shanghai.
    now = datetime(2026, 11, 28, 1, 30, tzinfo=UTC)  # a fixed instant (09:30 Beijing): no real clock here
    deadline = now - timedelta(hours=2, minutes=7)  # passed: the case is overdue at the pinned instant
    expected = deadline.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M") + " (UTC+8)"
    where = {"latitude": worker["lat"], "longitude": worker["lon"]}
    phone = new_context(
        browser,
        viewport=PHONE,
        timezone_id=FAR_AWAY,
        is_mobile=True,
        permissions=["geolocation"],
        geolocation=where,
        service_workers="block",  # page.route below must see the task list (a service worker's fetch escapes it)
    )
    desk = new_context(browser, viewport=(1600, 900), timezone_id=FAR_AWAY)
    try:
        with pinned_clock(now, phone, desk):
            event_id = _assigned_case(base_url, console_engine, worker, deadline)
            page, phone_report = _open(phone, base_url + "/console/worker", "gridworker")
            assert page.evaluate("new Date().getTimezoneOffset()") in (240, 300)  # New York's, not Beijing's
            assert (
                page.evaluate("JSON.parse(document.getElementById('gg-vocab').textContent)") == vocabulary()
            )
            page.click(".gw-tab[data-tab=tasks]")
            card = page.locator(f".gw-task[data-event-id='{event_id}']")
            on_phone = card.locator(".gw-deadline").inner_text()
            assert "gw-overdue" in card.locator(".gw-deadline").get_attribute("class")  # the server's flag
            assert label("status", "dispatched") in card.inner_text()
            assert "北京时间" in page.locator("#gg-zone-note").inner_text()
            screenshot(page, "console_worker_deadline")

            desk_page, desk_report = _open(
                desk, f"{base_url}/console/dispatcher?case={event_id}", "dispatcher"
            )
            deadline_on_desk = desk_page.locator("#case-meta .gg-deadline")
            assert on_phone == deadline_on_desk.inner_text() == expected
            assert "gg-overdue" in deadline_on_desk.get_attribute("class")

            # the timeline of a case reported through the API reads in Chinese from its first entry
            desk_page.wait_for_selector("#timeline li[data-action=assign]")
            shown = _timeline(desk_page)
            assert [a for a, _, _ in shown] == ["assign", "report"]
            for action, text, whole in shown:
                assert text == label("action", action) and "status." not in whole, whole
            assert label("status", "reported") in shown[1][2]

            # a device whose clock is a day behind still shows the case overdue: the server decides
            desk.clock.set_system_time(deadline - timedelta(days=1))
            assert desk_page.evaluate("d => new Date() < new Date(d)", deadline.isoformat())
            desk_page.evaluate(REDRAW, event_id)
            assert "gg-overdue" in deadline_on_desk.get_attribute("class")
            desk.clock.set_system_time(now)

            # a deadline computed without its year's holiday calendar says so (the field may be absent)
            assert desk_page.locator("#case-meta .gg-provisional").count() == 0
            desk_page.route(
                f"**/api/events/{event_id}", lambda r: _with_field(r, event_id, deadline_provisional=True)
            )
            desk_page.evaluate(REDRAW, event_id)
            assert desk_page.locator("#case-meta .gg-provisional").inner_text() == PROVISIONAL
            assert deadline_on_desk.inner_text() == expected
            page.route("**/api/me/tasks", lambda r: _with_field(r, event_id, deadline_provisional=True))
            page.click(".gw-tab[data-tab=report]")
            page.click(".gw-tab[data-tab=tasks]")
            assert card.locator(".gw-provisional").inner_text().strip() == PROVISIONAL
            assert phone_report.clean, phone_report.summary()
            assert desk_report.clean, desk_report.summary()
    finally:
        phone.close()
        desk.close()
