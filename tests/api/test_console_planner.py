"""The planner's view in headless Chromium: every analysis layer renders offline, exports download."""

import json

import geopandas
import pytest

from tests.api import console_fixtures
from tests.api.console_fixtures import login, scalar
from tests.browser import PageReport, screenshot, watch
from tests.waits import WAIT_MS

pytestmark = pytest.mark.browser
# the shared fixtures, bound here so that pytest finds them in this module
base_url = console_fixtures.base_url
browser = console_fixtures.browser
console_app = console_fixtures.console_app
console_db = console_fixtures.console_db
console_engine = console_fixtures.console_engine


@pytest.fixture(scope="module")
def planner(browser, base_url):
    context = browser.new_context(
        viewport={"width": 1920, "height": 1080}, locale="zh-CN", accept_downloads=True
    )
    page = context.new_page()
    report = PageReport()
    watch(page, report)  # page.route covers the iframe's requests too
    login(page, base_url, "planner")
    assert page.url.endswith("/console/planner"), page.url
    yield page, report
    context.close()


def frame_ready(page, selector: str):
    """The map iframe once Leaflet has drawn `selector` in it."""
    frame = page.frame_locator("#pl-frame")
    frame.locator(selector).first.wait_for(state="attached", timeout=WAIT_MS)
    return frame


def pick(page, layer: str):
    with page.expect_response(lambda r: f"/maps/{layer}" in r.url, timeout=WAIT_MS):
        page.check(f"input[name=layer][value={layer}]")


def test_heatmap_with_filters_renders(planner):
    page, report = planner
    frame = frame_ready(page, ".leaflet-container")
    assert frame.locator("canvas.leaflet-heatmap-layer").count() >= 1
    # filter: hazards, one category, a date range -> the iframe asks for exactly that
    page.select_option("#pl-kind", "hazards")
    page.select_option("#pl-category", "fire")
    page.fill("#pl-from", "2025-01-01")
    page.fill("#pl-to", "2025-12-31")
    assert "pending" in page.get_attribute("#pl-apply", "class")  # filters wait for the button
    with page.expect_response(lambda r: "/maps/heatmap?" in r.url) as resp:
        page.click("#pl-apply")
    url = resp.value.url
    assert (
        resp.value.status == 200
        and "layer=hazards" in url
        and "from=2025-01-01" in url
        and "to=2025-12-31" in url
    )
    frame_ready(page, "canvas.leaflet-heatmap-layer")
    page.wait_for_timeout(500)
    screenshot(page, "console_planner_heatmap")
    assert page.get_attribute("#pl-export a[data-format=gpkg]", "href") == "/api/exports/hazards.gpkg"
    assert report.clean, report.summary()


def test_time_slider_hotspots_emerging_and_risk(planner):
    page, report = planner
    pick(page, "heatmap-time")
    frame_ready(page, ".timecontrol-slider, .leaflet-control-timecontrol")
    pick(page, "hotspots")
    frame_ready(page, ".leaflet-container path")
    pick(page, "emerging")
    frame_ready(page, ".leaflet-container")
    pick(page, "risk")
    frame = frame_ready(page, "path.gg-risk")
    assert frame.locator("path.gg-risk").count() > 1000
    assert page.get_attribute("#pl-export a[data-format=csv]", "href") == "/api/exports/grids.csv"
    page.wait_for_timeout(500)
    screenshot(page, "console_planner")
    assert report.clean, report.summary()


def test_exports_download_and_match_sql(planner, console_engine, tmp_path):
    page, report = planner
    page.check("input[name=layer][value=heatmap]")
    page.select_option("#pl-kind", "disputes")
    expected = scalar(
        console_engine, "SELECT count(*) FROM events WHERE kind = 'dispute' AND grid_code LIKE '620121%'"
    )
    for fmt in ("geojson", "gpkg", "csv"):
        with page.expect_download() as info:
            page.click(f"#pl-export a[data-format={fmt}]")
        path = tmp_path / f"disputes.{fmt}"
        info.value.save_as(path)
        assert info.value.suggested_filename == f"gridgov-disputes-620121.{fmt}"
        if fmt == "geojson":
            assert len(json.loads(path.read_text())["features"]) == expected
        elif fmt == "gpkg":
            assert len(geopandas.read_file(path)) == expected
        else:
            assert sum(1 for _ in path.open(encoding="utf-8-sig")) == expected + 1
    assert report.clean, report.summary()


def test_report_links(planner):
    page, _ = planner
    links = page.locator("#pl-reports a")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert "/api/reports/weekly?format=html" in hrefs and "/api/reports/monthly?format=pdf" in hrefs
    resp = page.request.get(page.url.split("/console")[0] + "/api/reports/weekly?format=html")
    assert resp.status == 200 and "text/html" in resp.headers["content-type"]
