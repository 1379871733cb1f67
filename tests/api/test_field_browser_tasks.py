"""The grid worker's phone and the dispatcher's desk in Chromium, on the demo county: a task worked with
photos before and after, the dispatcher told why nobody can be sent, and the basemap tiles of the worker's
grids opening offline. The server's clock is pinned and the browsers follow it (tests.browser)."""

from datetime import timedelta

import pytest
from sqlalchemy import text

from tests.api.console_fixtures import login, scalar
from tests.api.field_browser_fixtures import (
    PHONE,
    START,
    base_url_fixture,  # noqa: F401 (fixture `base_url`)
    browser_fixture,  # noqa: F401 (fixture `browser`)
    field_db_fixture,  # noqa: F401 (fixture `field_db`)
    field_engine_fixture,  # noqa: F401 (fixture `field_engine`)
    patrol_fixture,  # noqa: F401 (fixture `patrol`)
)
from tests.apps import app_for
from tests.browser import (
    PageReport,
    new_context,
    pinned_clock,
    screenshot,
    serve_app,
    watch,
)

pytestmark = pytest.mark.browser


def _png(page) -> bytes:
    import base64

    data = page.evaluate(
        "(() => { const c = document.createElement('canvas'); c.width = 32; c.height = 24;"
        " const g = c.getContext('2d'); g.fillStyle = '#2a6'; g.fillRect(0, 0, 32, 24);"
        " return c.toDataURL('image/png').split(',')[1]; })()"
    )
    return base64.b64decode(data)


def _assigned_case(base_url: str, patrol: dict) -> int:
    import httpx

    from tests.api.console_fixtures import password

    token = httpx.post(
        base_url + "/api/auth/token", data={"username": "commander", "password": password("commander")}
    )
    headers = {"Authorization": "Bearer " + token.json()["access_token"]}
    body = {
        "category": "neighbour",
        "severity": 2,
        "title": "邻里漏水纠纷",
        "lon": patrol["lon"],
        "lat": patrol["lat"],
    }
    r = httpx.post(
        base_url + "/api/events", json=body, headers={**headers, "Idempotency-Key": "field-task-1"}
    )
    event_id = r.json()["id"]
    r = httpx.post(
        f"{base_url}/api/events/{event_id}/assign", json={"worker_id": patrol["id"]}, headers=headers
    )
    assert r.status_code == 200, r.text
    return event_id


def test_a_task_is_worked_on_the_phone_with_photos_before_and_after(
    browser, base_url, field_engine, patrol, tmp_path
):
    phone = new_context(
        browser,
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        permissions=["geolocation"],
        geolocation={"latitude": patrol["lat"], "longitude": patrol["lon"]},
    )
    try:
        with pinned_clock(START + timedelta(hours=2), phone):
            event_id = _assigned_case(base_url, patrol)
            page = phone.new_page()
            report = PageReport()
            watch(page, report)
            login(page, base_url, "gridworker")
            page.click(".gw-tab[data-tab=tasks]")
            page.click(f".gw-task[data-event-id='{event_id}'] .gw-task-head")
            detail = page.locator("#gw-detail")
            detail.wait_for()
            page.wait_for_selector("#gw-d-map path.gw-case")
            page.wait_for_selector("#gw-d-timeline li[data-action=assign]")
            assert (
                detail.locator("button[data-to=handled]").count() == 0
                and detail.locator("#gw-d-handle").is_hidden()
            )
            detail.locator("button[data-to=in_progress]").click()
            page.wait_for_selector("#gw-d-handle", state="visible")
            path = tmp_path / "site.png"
            path.write_bytes(_png(page))
            page.set_input_files("#gw-d-before", str(path))
            page.wait_for_selector("#gw-d-photos .gw-photo-before img")
            page.set_input_files("#gw-d-after", str(path))
            page.wait_for_selector("#gw-d-photos .gw-photo-after img")
            page.fill("#gw-d-result", "已协调楼上住户维修水管")
            detail.locator("button[data-to=handled]").click()
            page.wait_for_selector("#gw-d-actions .gw-waiting")
            assert detail.locator("button[data-to=in_progress]").count() == 0  # after 处置完毕 no 开始处置
            card = page.locator(f".gw-task[data-event-id='{event_id}']")
            assert card.locator("button").count() == 0 and "等待核查" in card.inner_text()
            status, handled_by = (
                field_engine.connect()
                .execute(text("SELECT status, handled_by FROM events WHERE id = :i"), {"i": event_id})
                .one()
            )
            assert (status, handled_by) == ("handled", "gridworker")
            stages = scalar(
                field_engine,
                "SELECT string_agg(stage, ',' ORDER BY id) FROM event_photos WHERE event_id = :i",
                i=event_id,
            )
            assert stages == "before,after"
            note = scalar(
                field_engine,
                "SELECT note FROM event_log WHERE event_id = :i AND action = 'handle'",
                i=event_id,
            )
            assert note == "已协调楼上住户维修水管"
            page.evaluate("window.scrollTo(0, 0)")
            screenshot(page, "console_worker_task")
            assert report.clean, report.summary()
    finally:
        phone.close()


def test_the_dispatcher_says_why_nobody_can_be_sent(browser, base_url, field_engine, patrol):
    with field_engine.begin() as conn:
        on = conn.execute(text("SELECT id FROM workers WHERE on_duty")).scalars().all()
        conn.execute(text("UPDATE workers SET on_duty = false WHERE home_grid_code LIKE '620121%'"))
        event_id = conn.execute(
            text(
                "INSERT INTO events (kind, category, severity, source, title, geom, reported_at, created_at) "
                "VALUES ('dispute', 'neighbour', 2, 'walk_in', '无人可派', ST_SetSRID(ST_MakePoint(:x, :y), 4326), "
                ":t, :t) RETURNING id"
            ),
            {"x": patrol["lon"], "y": patrol["lat"], "t": START},
        ).scalar_one()
    desk = new_context(browser, viewport=(1600, 900))
    try:
        with pinned_clock(START, desk):
            page = desk.new_page()
            login(page, base_url, "dispatcher")
            page.goto(f"{base_url}/console/dispatcher?case={event_id}")
            reason = page.locator("#cands .gg-empty-reason")
            reason.wait_for()
            assert reason.inner_text() == "调度范围内 1383 名网格员均不在岗"
    finally:
        desk.close()
        with field_engine.begin() as conn:
            conn.execute(text("UPDATE workers SET on_duty = true WHERE id = ANY(:ids)"), {"ids": list(on)})


PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082"
)


def _basemap(folder, bbox: tuple) -> int:
    """A local basemap folder ({z}/{x}/{y}.png) covering bbox at z 12-16; how many tiles."""
    import math

    n_tiles = 0
    for z in range(12, 17):
        n = 2**z

        def ty(lat: float, n: int = n) -> int:
            return int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)

        for x in range(int((bbox[0] + 180) / 360 * n), int((bbox[2] + 180) / 360 * n) + 1):
            for y in range(ty(bbox[3]), ty(bbox[1]) + 1):
                path = folder / str(z) / str(x) / f"{y}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(PNG_1PX)
                n_tiles += 1
    return n_tiles


_CACHED_TILES = """() => caches.open('gridgov-worker-v1').then((c) => c.keys())
    .then((keys) => keys.filter((r) => r.url.includes('/maps/basemap/')).length)"""


def test_the_basemap_tiles_of_the_workers_grids_open_offline(browser, field_db, field_engine, tmp_path):
    from layers.settings import MapSettings

    with field_engine.connect() as conn:
        bbox = conn.execute(
            text(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(g.geom) AS e"
                " FROM users u, grids g WHERE u.name = 'gridworker' AND g.level = 'grid' AND g.valid_to IS NULL"
                " AND g.code LIKE u.area || '%') s"
            )
        ).one()
    assert _basemap(tmp_path, tuple(bbox)) > 10
    app = app_for(field_db, maps=MapSettings(_env_file=None, basemap_dir=str(tmp_path)))
    phone = new_context(browser, viewport=PHONE, is_mobile=True)
    try:
        with serve_app(app) as base, pinned_clock(START, phone):
            page = phone.new_page()
            login(page, base, "gridworker")
            page.wait_for_function("navigator.serviceWorker.controller !== null")
            page.wait_for_function(f"({_CACHED_TILES})().then((n) => n > 10)")  # its grids' tiles, kept ahead
            phone.set_offline(True)
            page.reload()
            page.wait_for_function(
                "document.querySelectorAll('.gw-basemap img.leaflet-tile-loaded').length > 0"
            )
            assert "离线" in page.inner_text("#gw-net")
    finally:
        phone.close()
