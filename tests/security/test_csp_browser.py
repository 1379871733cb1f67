"""Every kind of page in headless Chromium with the Content-Security-Policy enforced: the console, the
phone page, the administrators' page, the login and password pages and every Folium map page run and
draw without a single script refused (no inline script runs without its nonce, none is needed)."""

import pytest

from tests.apps import app_for
from tests.auth_helpers import browser_cookies
from tests.browser import PageReport, chromium, new_context, serve_app, watch

pytestmark = pytest.mark.browser
# path -> what shows the page ran its scripts
PAGES = {
    "/console/commander": "path.gg-townships",
    "/console/dispatcher": "#list li[data-id]",
    "/console/planner": "#pl-frame",
    "/console/risk": "#rk-grids tbody tr",
    "/console/chronic": "#ch-table tbody tr",
    "/maps/county": ".leaflet-interactive",
    "/maps/heatmap": "canvas.leaflet-heatmap-layer",
    "/maps/heatmap-time": ".leaflet-control-timecontrol",
    "/maps/risk": ".leaflet-interactive",
    "/maps/hotspots": ".leaflet-interactive",
    "/maps/emerging": ".leaflet-container",
}
PLAIN = {"/login": "#username", "/password": "#current", "/account": "#ac-audit table"}


@pytest.fixture(scope="module")
def site(demo_db_url):
    with serve_app(app_for(demo_db_url)) as url, chromium() as browser:
        yield url, browser


def _open(site, demo_db_url, path, selector, role):
    url, browser = site
    context = new_context(browser, bypass_csp=False)
    if role:
        context.add_cookies(browser_cookies(url, demo_db_url, role))
    page = context.new_page()
    report = PageReport()
    watch(page, report)
    page.goto(url + path, wait_until="networkidle")
    page.wait_for_selector(selector, state="attached")
    return context, report


def _refused(report: PageReport) -> list[str]:
    return [
        m
        for m in report.console_errors + report.page_errors
        if "Content Security Policy" in m or "Refused" in m
    ]


@pytest.mark.parametrize("path", PAGES)
def test_console_and_map_pages_run_under_the_policy(site, demo_db_url, path):
    context, report = _open(site, demo_db_url, path, PAGES[path], "commander")
    try:
        assert _refused(report) == [] and report.page_errors == [], report.summary()
    finally:
        context.close()


@pytest.mark.parametrize("path", PLAIN)
def test_login_password_and_account_pages_run_under_the_policy(site, demo_db_url, path):
    context, report = _open(site, demo_db_url, path, PLAIN[path], None if path == "/login" else "auditor")
    try:
        assert _refused(report) == [] and report.page_errors == [], report.summary()
    finally:
        context.close()
