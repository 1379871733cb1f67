"""The console in headless Chromium against the real app and PostGIS: shell, commander, dispatcher.

Flows that commit (assign) run on a copy of the demo database, made once for this module. Users log in
through the real /login form. The commander page keeps a server-sent-events stream open, so pages are
not awaited with "networkidle" (which never comes) but with the selectors that prove they drew.
"""

import json
import re
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from geo import clock
from geo.vocabulary import KINDS, STATUSES, label, vocabulary
from tests.api.console_fixtures import copy_demo
from tests.apps import app_for
from tests.auth_helpers import TEST_PASSWORD, bearer, ensure_user
from tests.browser import PageReport, chromium, new_context, screenshot, serve_app, watch
from tests.waits import WAIT_MS, WAIT_S

pytestmark = pytest.mark.browser
BIG_SCREEN = (1920, 1080)
TOWN = "620121003"  # 中堡镇
WEB = Path(__file__).resolve().parents[2] / "web"
# Labels the console's old JS copies used where the vocabulary says otherwise (已驳回 for 不予受理, ...).
OLD_LABELS = ("已驳回", "已办结", "已登记", "较重", "特别严重", "民生诉求", "研判员", "新上报", "状态变更")
_DATA_BLOCK = r'<script type="application/json" id="{}">(.*?)</script>'


@pytest.fixture(scope="module")
def console_db(pg_server, engine):
    url = copy_demo(pg_server, engine, "console_demo")
    for role, area in (("commander", "620121"), ("dispatcher", "620121"), ("dispatcher", TOWN)):
        ensure_user(url, role, area)
    return url


@pytest.fixture(scope="module")
def base_url(console_db):
    app = app_for(console_db)
    with serve_app(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def counts(console_db):
    engine = create_engine(console_db)
    with engine.connect() as conn:
        townships = conn.execute(
            text("SELECT count(*) FROM grids WHERE level = 'township' AND valid_to IS NULL")
        ).scalar_one()
        facilities = conn.execute(
            text("SELECT count(*) FROM facilities WHERE grid_code LIKE '620121%'")
        ).scalar_one()
        grids = conn.execute(
            text("SELECT count(*) FROM grids WHERE level = 'grid' AND valid_to IS NULL")
        ).scalar_one()
    engine.dispose()
    return {"townships": townships, "facilities": facilities, "grids": grids}


def log_in(browser, base_url, role="commander", area="620121", viewport=BIG_SCREEN, timezone_id=None):
    """A fresh browser context logged in through the /login form; returns (page, report)."""
    context = new_context(browser, viewport=viewport, timezone_id=timezone_id)
    page = context.new_page()
    report = PageReport()
    watch(page, report)
    page.goto(base_url + "/login")
    page.fill("#username", f"t_{role}_{area}")
    page.fill("#password", TEST_PASSWORD)
    page.click("button[type=submit]")
    view = "commander" if role == "commander" else "dispatcher"
    page.wait_for_url(f"**/console/{view}", timeout=WAIT_MS)
    return page, report


def close(page):
    page.context.close()  # ends the SSE stream too, so the server can shut down


def data_block(html: str, block_id: str):
    """The JSON of a page's `<script type="application/json" id=...>` data block."""
    match = re.search(_DATA_BLOCK.format(block_id), html, re.S)
    assert match, f"no {block_id} data block in the page"
    return json.loads(match.group(1))


# ---------- one vocabulary ----------


def test_vocabulary_is_served_and_embedded_in_every_page(base_url, console_db):
    assert httpx.get(base_url + "/api/vocabulary").status_code == 401  # authenticated like the rest
    words = httpx.get(base_url + "/api/vocabulary", headers=bearer(console_db))
    assert words.status_code == 200 and words.json() == vocabulary()
    with httpx.Client(base_url=base_url) as client:
        form = {"username": "t_commander_620121", "password": TEST_PASSWORD}
        client.cookies = client.post("/api/auth/token", data=form, headers={"Accept": "text/html"}).cookies
        for view in ("commander", "dispatcher", "planner", "worker"):
            html = client.get(f"/console/{view}").text
            assert data_block(html, "gg-vocab") == vocabulary(), view
            assert data_block(html, "gg-clock") == {"zone": clock.zone().key}, view
            assert 'id="gg-zone-note"' in html, view


def test_no_js_or_page_holds_its_own_copy_of_a_label():
    files = sorted((WEB / "static" / "js").glob("*.js")) + sorted((WEB / "templates").glob("*.html"))
    assert len(files) >= 10
    labels = [zh for zh, _ in STATUSES.values()] + [zh for zh, _ in KINDS.values()] + list(OLD_LABELS)
    for path in files:
        source = path.read_text(encoding="utf-8")
        found = [word for word in labels if word in source]
        assert not found, f"{path.name} spells {found} itself; read them with GG.label or from `labels`"
    common = (WEB / "static" / "js" / "common.js").read_text(encoding="utf-8")
    for prefix in ("status.", "kind.", "role.", "level.", "refer.", "action."):
        assert f'"{prefix}' not in common, f"common.js DICT still has {prefix}* keys"
    for name in ("worker.js", "dispatcher.js", "commander.js", "planner.js"):
        source = (WEB / "static" / "js" / name).read_text(encoding="utf-8")
        assert "fetch(" not in source, f"{name} has its own HTTP client; use GG.api"
        assert "getHours" not in source and ".slice(0, 16)" not in source, f"{name} formats times itself"


# ---------- shell and pages ----------


def test_pages_redirect_to_login_and_role_page(base_url):
    with httpx.Client(base_url=base_url, follow_redirects=False) as client:
        assert client.get("/").headers["location"] == "/login"
        r = client.get("/console/dispatcher?case=5")
        assert (
            r.status_code == 303 and r.headers["location"] == "/login?next=%2Fconsole%2Fdispatcher%3Fcase%3D5"
        )
        form = {"username": "t_dispatcher_620121", "password": TEST_PASSWORD}
        r = client.post("/api/auth/token", data=form, headers={"Accept": "text/html"})
        assert r.headers["location"] == "/console/dispatcher"
        client.cookies = r.cookies
        assert client.get("/").headers["location"] == "/console/dispatcher"
        assert client.get("/console/nope").status_code == 404
        page = client.get("/console/commander")
        assert page.status_code == 200 and "网格化社会治理指挥平台" in page.text
        assert "http://" not in page.text and "https://" not in page.text  # only /static assets


def test_summary_stays_inside_the_users_area(base_url):
    with httpx.Client(base_url=base_url) as client:
        r = client.post(
            "/api/auth/token", data={"username": f"t_dispatcher_{TOWN}", "password": TEST_PASSWORD}
        )
        client.headers["Authorization"] = "Bearer " + r.json()["access_token"]
        own = client.get("/api/summary").json()
        assert own["area"] == TOWN and own["place"]["level"] == "township"
        village = client.get("/api/summary", params={"area": TOWN + "002000"})
        assert village.status_code == 200 and village.json()["area"] == TOWN + "002"
        for outside in ("620121004", "620121", "620122003"):
            r = client.get("/api/summary", params={"area": outside})
            assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
        events = client.get("/api/summary/open-events").json()
        assert events and all(e["grid_code"].startswith(TOWN) for e in events)


# ---------- commander ----------


def test_commander_big_screen(browser, base_url, counts):
    page, report = log_in(browser, base_url)
    try:
        page.wait_for_selector("path.gg-townships", timeout=WAIT_MS)
        page.wait_for_selector("path.gg-event", timeout=WAIT_MS)
        page.wait_for_selector("path.gg-worker", timeout=WAIT_MS)
        page.wait_for_selector("#live-state.on", timeout=WAIT_MS)
        page.wait_for_function("document.querySelector('[data-fig=open]').textContent !== '—'")
        page.wait_for_timeout(800)  # let Leaflet finish drawing
        screenshot(page, "console_commander")
        assert report.clean, report.summary()
        assert not report.external_requests
        assert page.locator("path.gg-townships").count() == counts["townships"] == 15
        assert page.locator("path.gg-facilities").count() == counts["facilities"]
        assert page.locator("path.gg-event").count() > 50
        assert page.locator("#feed li[data-id]").count() > 0
        assert "永登县" in page.locator("#place-name").inner_text()
        assert page.evaluate("GG.vocab") == vocabulary()  # the page's words are the product's
        assert page.locator("#gg-zone-note").inner_text() == "页面时间均为北京时间（UTC+8）"
        # township names on the map, and a legend of every colour drawn
        labels = page.eval_on_selector_all(".gg-label", "els => els.map(e => e.textContent)")
        assert len(labels) == 15 and "中堡镇" in labels
        legend = page.locator("#legend").inner_text()
        for word in (
            "矛盾纠纷",
            "安全隐患",
            "群众诉求",
            "超期",
            "网格员（可派）",
            "综治设施",
            "乡镇（街道）",
        ):
            assert word in legend, word
        # drill down: a township; its villages appear, and every panel narrows to it
        page.evaluate(f"GGCommander.drill('{TOWN}')")
        page.wait_for_selector(f"[data-crumb='{TOWN}']")
        page.wait_for_selector("path.gg-villages", timeout=WAIT_MS)
        assert "中堡镇" in page.locator("#place-name").inner_text()
        page.wait_for_function(
            f"[...document.querySelectorAll('#duty li[data-grid]')].every(li => li.dataset.grid.startsWith('{TOWN}'))"
            " && document.querySelectorAll('#duty li[data-grid]').length > 0"
        )
        page.wait_for_function(
            "() => GGCommander.state.layers.events && GGCommander.state.layers.events.getLayers().length > 0"
        )
        codes = page.evaluate(
            "GGCommander.state.layers.events.getLayers().map(l => l.getTooltip().getContent())"
        )
        assert all("620121-003-" in c for c in codes)  # the open cases of the township only
        feed = page.eval_on_selector_all("#feed li[data-id] code", "els => els.map(e => e.textContent)")
        assert feed and all(c.startswith("620121-003-") for c in feed)
        page.check("[data-layer=risk]")
        assert "高风险" in page.locator("#legend").inner_text()  # its colours join the legend
        page.uncheck("[data-layer=risk]")
        page.locator("a[data-crumb='620121']").click()
        page.wait_for_function("document.getElementById('place-name').textContent === '永登县'")
        # the risk choropleth colours every small grid
        page.check("[data-layer=risk]")
        page.wait_for_selector("path.gg-risk", timeout=WAIT_MS)
        assert page.locator("path.gg-risk").count() == counts["grids"]
        # English on request, Chinese by default
        assert page.locator(".gg-title").inner_text() == "网格化社会治理指挥平台"
        page.click("[data-lang=en]")
        assert page.locator(".gg-title").inner_text() == "Grid Governance Command Platform"
        page.click("[data-lang=zh]")
        assert report.clean, report.summary()
    finally:
        close(page)


# ---------- live feed ----------


def test_live_feed_shows_a_case_reported_through_the_api(browser, base_url, console_db):
    page, report = log_in(browser, base_url)
    try:
        page.wait_for_selector("#live-state.on", timeout=WAIT_MS)  # the server is LISTENing
        headers = {**bearer(console_db), "Idempotency-Key": "console-live-1"}
        body = {
            "category": "neighbour",
            "severity": 2,
            "title": "实时推送测试",
            "lon": 103.388,
            "lat": 36.722,
        }
        start = time.monotonic()
        r = httpx.post(base_url + "/api/events", json=body, headers=headers, timeout=WAIT_S)
        assert r.status_code == 201, r.text
        case = r.json()
        page.wait_for_selector(f"#feed li[data-id='{case['id']}'][data-action=reported]", timeout=WAIT_MS)
        assert time.monotonic() - start < 2.0
        item = page.locator(f"#feed li[data-id='{case['id']}']").inner_text()
        assert label("action", "report") in item and "邻里纠纷" in item and "已上报" in item
        assert "实时推送测试" not in item  # the feed carries no free text (nor personal data)
        # a later step of the case: every entry of it now shows the status it has (not 「新上报」)
        r = httpx.post(
            f"{base_url}/api/events/{case['id']}/transition",
            json={"to": "registered"},
            headers=headers,
            timeout=WAIT_S,
        )
        assert r.status_code == 200, r.text
        page.wait_for_selector(f"#feed li[data-id='{case['id']}'][data-action=status]", timeout=WAIT_MS)
        statuses = page.eval_on_selector_all(
            f"#feed li[data-id='{case['id']}']", "els => els.map(e => e.dataset.status)"
        )
        assert statuses == ["registered", "registered"]
        assert report.clean, report.summary()
    finally:
        close(page)
