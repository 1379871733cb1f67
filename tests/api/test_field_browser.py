"""Field work end to end in Chromium: a grid worker's phone (390×844, geolocation emulated) walks a short
patrol partly offline (the context offline, the page reloaded without signal), records a visit and a
report, reconnects; then the commander's map shows the track, the visit, the report and the coverage
change, each exactly once. The server's clock is pinned and the browsers follow it (tests.browser)."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from tests.api.console_fixtures import COUNTY, copy_demo, login, scalar
from tests.apps import app_for
from tests.browser import (
    PageReport,
    advance_clock,
    chromium,
    new_context,
    pinned_clock,
    screenshot,
    serve_app,
    watch,
)
from tests.waits import WAIT_MS

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
START = datetime.fromisoformat("2026-11-28T09:00:00+08:00")  # a morning after the demo year, the 28th
STEP = timedelta(seconds=150)
TITLE = "巡查发现：井盖缺失"  # more than the phone's cadence (120 s): every move leaves a fix


@pytest.fixture(scope="module")
def field_db(pg_server, engine) -> str:
    """A committed copy of the demo county with its demo accounts."""
    from geo.accounts import create_demo_accounts

    url = copy_demo(pg_server, engine, "field_b_demo")
    eng = create_engine(url)
    with Session(eng) as session:
        create_demo_accounts(session, COUNTY)
        session.commit()
    eng.dispose()
    return url


@pytest.fixture(scope="module")
def field_engine(field_db):
    eng = create_engine(field_db)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def base_url(field_db):
    with serve_app(app_for(field_db)) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def patrol(field_engine) -> dict:
    """The gridworker's worker, their grid, and points walking east across its middle (WGS84)."""
    with field_engine.connect() as conn:
        row = (
            conn.execute(
                text(
                    "SELECT w.id, w.home_grid_code AS grid, ST_XMin(b) AS x0, ST_XMax(b) AS x1, ST_Y(c) AS lat, ST_X(c) AS lon "
                    "FROM users u JOIN workers w ON w.id = u.worker_id JOIN grids g ON g.id = w.home_grid_id, "
                    "LATERAL (SELECT ST_Envelope(g.geom) AS b, ST_PointOnSurface(g.geom) AS c) s WHERE u.name = 'gridworker'"
                )
            )
            .mappings()
            .one()
        )
    step = 0.0004  # ~36 m a step: more than the 30 m that count as moving
    assert 8 * step < row["x1"] - row["x0"]  # the walk stays inside the grid
    return {**row, "points": [(row["lon"] + step * i, row["lat"]) for i in range(-3, 5)]}


def _kept(page) -> int:
    return int(page.evaluate("Number(localStorage.getItem('gridgov.worker.kept.v1') || 0)"))


def _walk_to(context, page, point) -> None:
    kept = _kept(page)
    advance_clock(STEP, context)
    context.set_geolocation({"latitude": point[1], "longitude": point[0]})
    page.wait_for_function(f"Number(localStorage.getItem('gridgov.worker.kept.v1') || 0) > {kept}")


def _counts(engine, worker: int) -> dict:
    day = "2026-11-28"
    return {
        "fixes": scalar(
            engine,
            "SELECT count(*) FROM worker_fixes WHERE worker_id = :w AND at >= :d",
            w=worker,
            d=START - timedelta(hours=1),
        ),
        "tracks": scalar(
            engine, "SELECT count(*) FROM patrol_tracks WHERE worker_id = :w AND day = :d", w=worker, d=day
        ),
        "visits": scalar(
            engine, "SELECT count(*) FROM visits WHERE worker_id = :w AND at >= :d", w=worker, d=START
        ),
        "reports": scalar(engine, "SELECT count(*) FROM events WHERE title = :t", t=TITLE),
    }


# What the commander's map holds of this worker's day: their tracks, their visits, the report (open
# cases), and the coverage status of their grid (the coverage layer switched on).
_ON_MAP = """([worker, grid, eventId]) => {
    const s = window.GGCommander.state, L = s.layers;
    const mine = (layer) => layer ? layer.getLayers().filter((l) => l.feature.properties.worker_id === worker).length : -1;
    const cells = L.coverage.getLayers().filter((l) => l.feature.properties.code === grid);
    return {tracks: mine(L.tracks), visits: mine(L.visits),
            reports: (s.openEvents || []).filter((e) => e.id === eventId).length,
            coverage: cells.length === 1 ? cells[0].feature.properties.status : String(cells.length)};
}"""


def _commander(desk, base_url: str, patrol: dict, event_id: int | None = None) -> dict:
    """Open the commander's big screen afresh and read what its map shows of the patrol."""
    for old in desk.pages:
        old.close()
    page = desk.new_page()
    login(page, base_url, "commander")
    page.wait_for_function(
        "window.GGCommander && GGCommander.state.layers.tracks && GGCommander.state.layers.visits"
        " && GGCommander.state.layers.events"
    )
    page.check('[data-layer="coverage"]')
    page.wait_for_function("GGCommander.state.layers.coverage && document.querySelector('path.gg-coverage')")
    grid = patrol["grid"]
    code = f"{grid[:6]}-{grid[6:9]}-{grid[9:12]}-{grid[12:]}"
    return page.evaluate(_ON_MAP, [patrol["id"], code, event_id])


def desk_figure(desk) -> float:
    """今日走访覆盖率 as the commander's screen prints it (a percentage)."""
    page = desk.pages[-1]
    page.wait_for_function("document.querySelector('[data-fig=visit_coverage]').textContent.includes('%')")
    return float(page.inner_text("[data-fig=visit_coverage]").rstrip("%"))


def test_a_patrol_partly_offline_reaches_the_commanders_map_exactly_once(
    browser, base_url, field_engine, patrol
):
    first = patrol["points"][0]
    phone = new_context(
        browser,
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        permissions=["geolocation"],
        geolocation={"latitude": first[1], "longitude": first[0]},
    )
    desk = new_context(browser, viewport=(1600, 900))
    try:
        with pinned_clock(START, phone, desk):
            before = _commander(desk, base_url, patrol)
            assert before == {"tracks": 0, "visits": 0, "reports": 0, "coverage": "none"}, before
            before_figure = desk_figure(desk)
            page = phone.new_page()
            report = PageReport()
            watch(page, report)
            login(page, base_url, "gridworker")
            page.wait_for_function(
                "navigator.serviceWorker.controller !== null"
            )  # the offline shell is installed
            page.wait_for_selector("#gw-duty")
            if not page.is_checked("#gw-duty"):
                page.check("#gw-duty")
            page.wait_for_function("document.getElementById('gw-track').dataset.state === 'on'")
            for point in patrol["points"][1:4]:  # online (the first fix came with the first position)
                _walk_to(phone, page, point)
            phone.set_offline(True)
            page.wait_for_function("!navigator.onLine")
            _walk_to(phone, page, patrol["points"][4])
            page.reload()  # without signal: the service worker opens the page
            page.wait_for_selector("#gw-duty", state="attached")
            assert page.is_checked("#gw-duty") and "离线" in page.inner_text("#gw-net")
            for point in patrol["points"][5:7]:
                _walk_to(phone, page, point)
            advance_clock(timedelta(seconds=60), phone)  # a minute later, at the household's door
            page.click(".gw-tab[data-tab=visit]")
            page.fill("#gw-v-address", "三组12号")
            page.fill("#gw-v-household", "王建国")
            page.fill("#gw-v-note", "独居老人，身体状况良好")
            page.click("#gw-v-submit")
            page.click(".gw-tab[data-tab=report]")
            page.check("input[name=kind][value=hazard]")
            page.wait_for_selector("#gw-category option", state="attached")
            page.fill("#gw-title", TITLE)
            page.click("#gw-submit")
            page.wait_for_function(
                "window.GridWorker.queue().length === 1 && window.GridWorkerField.visits().length === 1"
            )
            screenshot(page, "console_worker_field_offline")
            assert _counts(field_engine, patrol["id"])["visits"] == 0
            phone.set_offline(False)
            page.wait_for_function(
                "window.GridWorker.queue().length === 0 && window.GridWorkerField.visits().length === 0"
                " && window.GridWorkerField.waiting() === 0",
                timeout=WAIT_MS,
            )
            page.evaluate("window.GridWorker.flush()")  # a second flush sends nothing again
            page.wait_for_timeout(500)
            counts = _counts(field_engine, patrol["id"])
            assert counts == {"fixes": _kept(page), "tracks": 1, "visits": 1, "reports": 1}
            # the first position, six steps, and the visit's own (the report, seconds later, is within the
            # 30 s floor of the phone's cadence)
            assert counts["fixes"] == 8
            screenshot(page, "console_worker_field")
            event_id = scalar(field_engine, "SELECT id FROM events WHERE title = :t", t=TITLE)
            after = _commander(desk, base_url, patrol, event_id)
            assert after == {"tracks": 1, "visits": 1, "reports": 1, "coverage": "visited"}, after
            assert desk_figure(desk) > before_figure
            screenshot(desk.pages[-1], "console_commander_field")
    finally:
        phone.close()
        desk.close()


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
