"""The planner's view in headless Chromium: every analysis layer renders offline, exports download."""

import json

import geopandas
import openpyxl
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
    # the export holds what the map shows: the same kind, category and days
    wanted = "/api/exports/hazards.gpkg?from=2025-01-01&to=2025-12-31&category=fire"
    assert page.get_attribute("#pl-export a[data-format=gpkg]", "href") == wanted
    frame = page.frame_locator("#pl-frame")
    assert frame.locator("path.gg-township").count() == 15  # township outlines over the heat
    assert frame.locator("path.gg-area-outline").count() == 1  # and the county's
    assert "10 km" in frame.locator(".leaflet-control-scale").inner_text()  # metres, no miles
    assert "mi" not in frame.locator(".leaflet-control-scale").inner_text()
    assert report.clean, report.summary()


def test_time_slider_plays_and_each_analysis_exports_itself(planner):
    page, report = planner
    pick(page, "heatmap-time")
    frame = frame_ready(page, ".timecontrol-play")
    assert frame.locator(".timecontrol-play").count() == 1  # one play button, forwards
    week = frame.locator(".timecontrol-date").inner_text()
    frame.locator(".timecontrol-play").click()
    page.wait_for_function(
        "w => document.querySelector('#pl-frame').contentDocument.querySelector('.timecontrol-date').textContent !== w",
        arg=week,
        timeout=WAIT_MS,
    )  # the slider plays: the week shown moves on
    frame.locator(".timecontrol-play").click()  # pause
    assert frame.locator("path.gg-township").count() == 15
    pick(page, "hotspots")
    frame_ready(page, ".leaflet-container path")
    assert page.get_attribute("#pl-export a[data-format=csv]", "href") == "/api/exports/hotspots.csv"
    pick(page, "emerging")
    frame_ready(page, ".leaflet-container")
    assert page.get_attribute("#pl-export a[data-format=geojson]", "href") == "/api/exports/emerging.geojson"
    pick(page, "risk")
    frame = frame_ready(page, "path.gg-risk")
    assert frame.locator("path.gg-risk").count() > 1000
    assert page.get_attribute("#pl-export a[data-format=csv]", "href") == "/api/exports/risk.csv"
    page.wait_for_timeout(500)
    screenshot(page, "console_planner")
    assert report.clean, report.summary()


def test_exports_download_and_match_sql(planner, console_engine, tmp_path):
    page, report = planner
    page.check("input[name=layer][value=heatmap]")
    page.select_option("#pl-kind", "disputes")
    page.fill("#pl-from", "")
    page.fill("#pl-to", "")
    expected = scalar(
        console_engine, "SELECT count(*) FROM events WHERE kind = 'dispute' AND grid_code LIKE '620121%'"
    )
    for fmt in ("geojson", "gpkg", "csv", "xlsx"):
        with page.expect_download() as info:
            page.click(f"#pl-export a[data-format={fmt}]")
        path = tmp_path / f"disputes.{fmt}"
        info.value.save_as(path)
        assert info.value.suggested_filename == f"gridgov-disputes-620121.{fmt}"
        if fmt == "geojson":
            assert len(json.loads(path.read_text())["features"]) == expected
        elif fmt == "gpkg":
            assert len(geopandas.read_file(path)) == expected
        elif fmt == "csv":
            assert sum(1 for _ in path.open(encoding="utf-8-sig")) == expected + 1
        else:
            sheet = openpyxl.load_workbook(path, read_only=True).active
            rows = list(sheet.iter_rows(values_only=True))
            assert len(rows) == expected + 1 and {"经度", "纬度", "上报时间", "类别"} <= set(rows[0])
    # narrowed as the map is: one category, some days
    page.select_option("#pl-category", "neighbour")
    page.fill("#pl-from", "2026-06-01")
    page.fill("#pl-to", "2026-06-30")
    page.dispatch_event("#pl-to", "change")
    narrowed = scalar(
        console_engine,
        "SELECT count(*) FROM events WHERE kind = 'dispute' AND category = 'neighbour' AND grid_code LIKE '620121%' "
        "AND reported_at >= '2026-06-01 00:00+08' AND reported_at < '2026-07-01 00:00+08'",
    )
    with page.expect_download() as info:
        page.click("#pl-export a[data-format=geojson]")
    info.value.save_as(tmp_path / "june.geojson")
    assert len(json.loads((tmp_path / "june.geojson").read_text())["features"]) == narrowed > 0
    assert report.clean, report.summary()


def test_report_links(planner):
    page, _ = planner
    links = page.locator("#pl-reports a")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert "/api/reports/weekly?format=html" in hrefs and "/api/reports/monthly?format=pdf" in hrefs
    resp = page.request.get(page.url.split("/console")[0] + "/api/reports/weekly?format=html")
    assert resp.status == 200 and "text/html" in resp.headers["content-type"]
