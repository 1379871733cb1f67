"""The console in headless Chromium against the real app and PostGIS: shell, commander, dispatcher.

Flows that commit (assign) run on a copy of the demo database, made once for this module. Users log in
through the real /login form. The commander page keeps a server-sent-events stream open, so pages are
not awaited with "networkidle" (which never comes) but with the selectors that prove they drew.
"""

import time

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from api.main import create_app
from api.settings import ApiSettings
from geo.settings import DbSettings
from tests.auth_helpers import TEST_PASSWORD, bearer, ensure_user
from tests.browser import PageReport, chromium, screenshot, serve_app, watch
from tests.conftest import create_database

pytestmark = pytest.mark.browser
BIG_SCREEN = (1920, 1080)
TOWN = "620121003"  # 中堡镇


def copy_demo(pg_server: str, name: str = "console_demo") -> str:
    """A copy of the demo database; if another test holds it open (CREATE ... TEMPLATE needs it idle),
    load a fresh demo county into a copy of the empty one instead."""
    try:
        return create_database(pg_server, name, template="gridgov_demo")
    except OperationalError:
        from sqlalchemy.orm import Session

        from geo.demo import load_demo
        from tests.conftest import DEMO_SEED, DEMO_UNTIL

        url = create_database(pg_server, name, template="gridgov_empty")
        engine = create_engine(url)
        with Session(engine) as session:
            load_demo(session, seed=DEMO_SEED, until=DEMO_UNTIL, progress=False)
            session.commit()
        engine.dispose()
        return url


@pytest.fixture(scope="module")
def console_db(pg_server, demo_db_url):
    url = copy_demo(pg_server)
    for role, area in (("commander", "620121"), ("dispatcher", "620121"), ("dispatcher", TOWN)):
        ensure_user(url, role, area)
    return url


@pytest.fixture(scope="module")
def base_url(console_db):
    app = create_app(ApiSettings(_env_file=None), DbSettings(_env_file=None, url=console_db))
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


def log_in(browser, base_url, role="commander", area="620121", viewport=BIG_SCREEN):
    """A fresh browser context logged in through the /login form; returns (page, report)."""
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, locale="zh-CN")
    page = context.new_page()
    report = PageReport()
    watch(page, report)
    page.goto(base_url + "/login")
    page.fill("#username", f"t_{role}_{area}")
    page.fill("#password", TEST_PASSWORD)
    page.click("button[type=submit]")
    view = "commander" if role == "commander" else "dispatcher"
    page.wait_for_url(f"**/console/{view}", timeout=30_000)
    return page, report


def close(page):
    page.context.close()  # ends the SSE stream too, so the server can shut down


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
        page.wait_for_selector("path.gg-townships", timeout=30_000)
        page.wait_for_selector("path.gg-event", timeout=30_000)
        page.wait_for_selector("path.gg-worker", timeout=30_000)
        page.wait_for_selector("#live-state.on", timeout=15_000)
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
        # drill down: a township, then its villages appear and the breadcrumb grows
        page.evaluate(f"GGCommander.drill('{TOWN}')")
        page.wait_for_selector(f"[data-crumb='{TOWN}']")
        page.wait_for_selector("path.gg-villages", timeout=30_000)
        assert "中堡镇" in page.locator("#place-name").inner_text()
        page.locator("a[data-crumb='620121']").click()
        page.wait_for_function("document.getElementById('place-name').textContent === '永登县'")
        # the risk choropleth colours every small grid
        page.check("[data-layer=risk]")
        page.wait_for_selector("path.gg-risk", timeout=30_000)
        assert page.locator("path.gg-risk").count() == counts["grids"]
        # English on request, Chinese by default
        assert page.locator(".gg-title").inner_text() == "网格化社会治理指挥平台"
        page.click("[data-lang=en]")
        assert page.locator(".gg-title").inner_text() == "Grid Governance Command Platform"
        page.click("[data-lang=zh]")
        assert report.clean, report.summary()
    finally:
        close(page)


# ---------- dispatcher ----------


def test_dispatcher_selects_assigns_and_sees_the_timeline(browser, base_url):
    page, report = log_in(browser, base_url, role="dispatcher")
    try:
        page.wait_for_selector("#queue li[data-id]", timeout=30_000)
        page.wait_for_selector("path.gg-townships", timeout=30_000)
        queued = page.locator("#queue li[data-id]").count()
        assert queued > 0
        first = page.locator("#queue li[data-id]").first
        case_id = int(first.get_attribute("data-id"))
        first.click()
        page.wait_for_selector("#cands li[data-worker]", timeout=30_000)
        page.wait_for_selector("path.gg-case")
        page.wait_for_function("document.querySelectorAll('path.gg-candidate').length > 0")
        cands = page.locator("#cands li[data-worker]").count()
        assert page.locator("path.gg-candidate").count() == cands  # every candidate drawn...
        assert page.locator("path.gg-cand-line").count() == cands  # ...with its line from the case
        assert "米" in page.locator("#cands").inner_text() or "公里" in page.locator("#cands").inner_text()
        page.wait_for_timeout(500)
        screenshot(page, "console_dispatcher")
        worker = page.locator("#cands [data-assign]").first.get_attribute("data-assign")
        page.locator("#cands [data-assign]").first.click()
        page.wait_for_selector("#timeline li[data-action=assign]", timeout=15_000)
        assert "已派遣" in page.locator("#case-meta").inner_text()
        page.wait_for_selector(f"#queue li[data-id='{case_id}']", state="detached")  # left the queue
        # escalate and whistle go through the same routes; their log rows join the timeline
        page.click("#btn-escalate")
        page.wait_for_selector("#timeline li[data-action=escalate]", timeout=15_000)
        page.click("#btn-whistle")
        page.wait_for_selector("#timeline li[data-action=whistle]", timeout=15_000)
        assert report.clean, report.summary()
        # a second assign of the same case is refused; the problem+json detail is shown, in Chinese
        page.evaluate(
            "([id, w]) => GG.api('/api/events/' + id + '/assign', {method: 'POST', body: {worker_id: w}})"
            ".catch(GG.fail)",
            [case_id, int(worker)],
        )
        page.wait_for_selector("#gg-toast.error:not([hidden])")
        assert "不能" in page.locator("#gg-toast").inner_text()
    finally:
        close(page)


# ---------- live feed ----------


def test_live_feed_shows_a_case_reported_through_the_api(browser, base_url, console_db):
    page, report = log_in(browser, base_url)
    try:
        page.wait_for_selector("#live-state.on", timeout=15_000)  # the server is LISTENing
        headers = {**bearer(console_db), "Idempotency-Key": "console-live-1"}
        body = {
            "category": "neighbour",
            "severity": 2,
            "title": "实时推送测试",
            "lon": 103.388,
            "lat": 36.722,
        }
        start = time.monotonic()
        r = httpx.post(base_url + "/api/events", json=body, headers=headers, timeout=10)
        assert r.status_code == 201, r.text
        case = r.json()
        page.wait_for_selector(f"#feed li[data-id='{case['id']}'][data-action=reported]", timeout=2_000)
        assert time.monotonic() - start < 2.0
        item = page.locator(f"#feed li[data-id='{case['id']}']").inner_text()
        assert "新上报" in item and "邻里纠纷" in item
        assert "实时推送测试" not in item  # the feed carries no free text (nor personal data)
        assert report.clean, report.summary()
    finally:
        close(page)
