"""Field work end to end in Chromium: a grid worker's phone (390×844, geolocation emulated) walks a short
patrol partly offline (the context offline, the page reloaded without signal), records a visit and a
report, reconnects; then the commander's map shows the track, the visit, the report and the coverage
change, each exactly once. The server's clock is pinned and the browsers follow it (tests.browser)."""

from datetime import timedelta

import pytest

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
from tests.browser import (
    PageReport,
    advance_clock,
    new_context,
    pinned_clock,
    screenshot,
    watch,
)
from tests.waits import WAIT_MS

pytestmark = pytest.mark.browser
STEP = timedelta(seconds=150)
TITLE = "巡查发现：井盖缺失"  # more than the phone's cadence (120 s): every move leaves a fix


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
