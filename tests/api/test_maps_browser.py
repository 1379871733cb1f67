"""The map pages in headless Chromium against the real app: offline, no errors, features drawn."""

import pytest
from sqlalchemy import text

from tests.apps import app_for
from tests.auth_helpers import browser_cookies
from tests.browser import chromium, open_page, screenshot, serve_app

pytestmark = pytest.mark.browser
COOKIES: list[dict] = []


@pytest.fixture(scope="module")
def base_url(demo_db_url):
    app = app_for(demo_db_url)
    with serve_app(app) as url:
        COOKIES[:] = browser_cookies(url, demo_db_url)  # logged in, as after /login
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def demo_counts(engine):
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT level, count(*) FROM grids"
                " WHERE valid_to IS NULL AND code LIKE '620121%' GROUP BY level"
            )
        )
        return dict(rows.all()) | {
            "facilities": conn.execute(
                text("SELECT count(*) FROM facilities WHERE grid_code LIKE '620121%'")
            ).scalar_one()
        }


def open_map(browser, url, name, wait_for):
    page, report = open_page(browser, url, wait_for=wait_for, cookies=COOKIES)
    page.wait_for_timeout(500)  # let Leaflet finish drawing after the last request
    screenshot(page, name)
    assert report.clean, report.summary()
    assert page.evaluate("typeof window.L") == "object"
    assert page.locator(".leaflet-container").count() == 1
    assert any("/static/vendor/leaflet/leaflet.js" in r for r in report.requests)
    return page


def test_county_map_draws_townships_facilities_and_clusters(browser, base_url, demo_counts):
    page = open_map(browser, base_url + "/maps/county", "maps_county", "path.gg-township")
    assert page.locator("path.gg-township").count() == demo_counts["township"] == 15
    assert page.locator("path.gg-facility").count() == demo_counts["facilities"]
    assert page.locator(".marker-cluster").count() > 0
    assert page.locator("path.gg-grid").count() == 0  # small grids start hidden
    page.get_by_text("网格（", exact=False).first.click()  # tick the small grids in the layer control
    assert page.locator("path.gg-grid").count() == demo_counts["grid"]
    assert "网格化社会治理一张图" in page.locator(".gg-legend").inner_text()


def test_county_map_tooltip_is_chinese(browser, base_url):
    page = open_map(browser, base_url + "/maps/county", "maps_county_tooltip", "path.gg-township")
    page.locator("path.gg-township").nth(0).dispatch_event("mouseover")
    assert "乡镇（街道）" in page.locator(".leaflet-tooltip").first.inner_text()


def test_risk_map_colours_every_small_grid(browser, base_url, demo_counts):
    page = open_map(browser, base_url + "/maps/risk", "maps_risk", "path.gg-risk")
    assert page.locator("path.gg-risk").count() == demo_counts["grid"] == 1383
    colours = {g: page.locator(f"path.gg-risk-{g}").count() for g in ("red", "yellow", "green")}
    assert sum(colours.values()) == 1383 and colours["green"] > 0
    legend = page.locator(".gg-legend").inner_text()
    assert "高风险" in legend and "低风险" in legend


@pytest.mark.parametrize("layer", ["disputes", "appeals"])
def test_heatmap_draws_a_heat_canvas(browser, base_url, layer):
    page = open_map(
        browser,
        f"{base_url}/maps/heatmap?layer={layer}",
        f"maps_heatmap_{layer}",
        "canvas.leaflet-heatmap-layer",
    )
    assert page.locator("canvas.leaflet-heatmap-layer").count() == 1
    assert "热力图" in page.locator(".gg-legend").inner_text()


def test_weekly_heatmap_has_a_time_control(browser, base_url):
    page = open_map(
        browser,
        f"{base_url}/maps/heatmap-time?layer=hazards",
        "maps_heatmap_time",
        ".leaflet-bar-timecontrol",
    )
    assert page.locator(".leaflet-bar-timecontrol").count() == 1
    assert page.locator("canvas.heatmap-canvas").count() == 1
    assert "周" in page.locator(".timecontrol-date").inner_text()
