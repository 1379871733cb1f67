"""Who may open which desk, logging in back to the page asked for, and the console behind a path prefix.

A role with no business on a page gets a page saying so (403) with a link to its own desk, never an
empty desk. /login?next= returns to same-site paths only. Behind a reverse proxy that serves the app
under /gridgov (and nothing else), every page, script, request and redirect stays under the prefix.
Every desk with a map outlines the county's townships by name, and those with a township filter list them.
"""

import re

import httpx
import pytest

from api.settings import ApiSettings
from tests.api import console_fixtures
from tests.api.console_fixtures import password
from tests.apps import app_for
from tests.browser import PageReport, new_context, serve_app, watch
from tests.desk import desk
from tests.waits import WAIT_MS

base_url = console_fixtures.base_url
browser = console_fixtures.browser
console_app = console_fixtures.console_app
console_db = console_fixtures.console_db
console_engine = console_fixtures.console_engine

VIEWS = ("commander", "dispatcher", "planner", "risk", "chronic", "worker", "department")
ALLOWED = {
    "commander": {"commander", "dispatcher", "planner", "risk", "chronic"},
    "dispatcher": {"commander", "dispatcher", "planner", "risk", "chronic"},
    "planner": {"commander", "planner", "risk", "chronic"},
    "gridworker": {"worker"},
    "department": {"department"},
}
HOME = {"commander": "commander", "dispatcher": "dispatcher", "planner": "planner", "gridworker": "worker"}
HOME["department"] = "department"


def _logged_in(base: str, name: str) -> httpx.Client:
    """A client holding the login cookies of a demo account (the browser's form post)."""
    client = httpx.Client(base_url=base, follow_redirects=False)
    form = {"username": name, "password": password(name)}
    client.cookies = client.post("/api/auth/token", data=form, headers={"Accept": "text/html"}).cookies
    return client


@pytest.mark.parametrize("name", sorted(ALLOWED))
def test_each_page_refuses_the_roles_that_have_no_business_there(base_url, name):
    client = _logged_in(base_url, name)
    try:
        for view in VIEWS:
            page = client.get(f"/console/{view}")
            if view in ALLOWED[name]:
                assert page.status_code == 200 and 'id="refused"' not in page.text, (name, view)
            else:
                assert page.status_code == 403 and "无权使用此页面" in page.text, (name, view)
                assert f'href="/console/{HOME[name]}"' in page.text  # to the role's own desk
                assert 'id="list"' not in page.text and 'id="map"' not in page.text  # no empty desk
    finally:
        client.close()


@pytest.mark.browser
def test_a_worker_opening_the_dispatcher_page_is_refused(browser, base_url):
    context = new_context(browser, viewport=(1280, 860))
    page = context.new_page()
    console_fixtures.login(page, base_url, "gridworker")
    assert page.url.endswith("/console/worker")
    answer = page.goto(base_url + "/console/dispatcher")
    assert answer.status == 403
    assert page.locator("#refused h2").inner_text() == "无权使用此页面"
    assert (
        "调度台" in page.locator("#refused").inner_text()
        and "网格员" in page.locator("#refused").inner_text()
    )
    page.click("#refused-home")
    page.wait_for_url("**/console/worker")
    context.close()


def test_login_returns_to_the_page_asked_for_same_site_paths_only(base_url):
    with httpx.Client(base_url=base_url, follow_redirects=False) as client:
        asked = client.get("/console/chronic?tab=backlog")
        assert (
            asked.status_code == 303
            and asked.headers["location"] == "/login?next=%2Fconsole%2Fchronic%3Ftab%3Dbacklog"
        )
        page = client.get(asked.headers["location"])
        assert 'name="next" value="/console/chronic?tab=backlog"' in page.text and "<script" not in page.text
        form = {"username": "planner", "password": password("planner")}
        html = {"Accept": "text/html"}
        back = client.post(
            "/api/auth/token", data={**form, "next": "/console/chronic?tab=backlog"}, headers=html
        )
        assert back.headers["location"] == "/console/chronic?tab=backlog"
        for elsewhere in (
            "//evil.example/x",
            "https://evil.example/",
            "/\t/evil.example",
            "\\\\evil",
            "/\\evil",
        ):
            r = client.post("/api/auth/token", data={**form, "next": elsewhere}, headers=html)
            assert r.headers["location"] == "/console/planner", elsewhere  # the role's own desk instead
            assert 'name="next" value=""' in client.get("/login", params={"next": elsewhere}).text
        wrong = client.post(
            "/api/auth/token", data={**form, "password": "nope-nope", "next": "/console/risk"}, headers=html
        )
        assert wrong.headers["location"] == "/login?error=not_authenticated&next=%2Fconsole%2Frisk"
        again = client.get(wrong.headers["location"])
        assert "用户名或密码错误" in again.text and 'value="/console/risk"' in again.text


# ---------- behind a reverse proxy ----------

PREFIX = "/gridgov"


def behind_prefix(app, prefix: str):
    """The app as a reverse proxy serves it under `prefix` (nginx: location /gridgov/ { proxy_pass
    http://app/; }): the prefix is stripped on the way in, and anything outside it is 404 (and noted)."""
    outside: list[str] = []

    async def proxy(scope, receive, send):
        if scope["type"] != "http" and scope["type"] != "websocket":
            return await app(scope, receive, send)
        path = scope["path"]
        if path == prefix or path.startswith(prefix + "/"):
            inner = {**scope, "path": path[len(prefix) :] or "/"}
            inner["raw_path"] = inner["path"].encode()
            return await app(inner, receive, send)
        outside.append(path)
        await send(
            {"type": "http.response.start", "status": 404, "headers": [(b"content-type", b"text/plain")]}
        )
        await send({"type": "http.response.body", "body": b"not under the prefix"})

    return proxy, outside


@pytest.fixture(scope="module")
def prefixed(console_db):
    app = app_for(console_db, api=ApiSettings(_env_file=None, root_path=PREFIX))
    proxy, outside = behind_prefix(app, PREFIX)
    with serve_app(proxy) as url:
        yield url, outside


@pytest.mark.browser
def test_the_console_works_under_a_path_prefix(browser, prefixed):
    url, outside = prefixed
    with httpx.Client(base_url=url, follow_redirects=False) as client:
        assert client.get(PREFIX + "/").headers["location"] == PREFIX + "/login"
        asked = client.get(PREFIX + "/console/dispatcher")
        assert asked.headers["location"] == f"{PREFIX}/login?next=%2Fgridgov%2Fconsole%2Fdispatcher"
    context = new_context(browser, viewport=(1600, 950))
    page = context.new_page()
    report = PageReport()
    watch(page, report)
    page.goto(url + asked.headers["location"], wait_until="networkidle")
    page.fill("#username", "dispatcher")
    page.fill("#password", password("dispatcher"))
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert page.url == url + PREFIX + "/console/dispatcher"
    page.wait_for_selector("#list li[data-id]", timeout=WAIT_MS)
    page.locator("#list li[data-id]").first.click()
    page.wait_for_selector("#cands li[data-worker]", timeout=WAIT_MS)
    page.goto(url + PREFIX + "/console/planner")
    page.frame_locator("#pl-frame").locator(".leaflet-container").wait_for(timeout=WAIT_MS)
    assert page.get_attribute("#pl-export a[data-format=xlsx]", "href").startswith(PREFIX + "/api/exports/")
    page.goto(url + PREFIX + "/console/risk")
    page.wait_for_selector("#rk-grids tr[data-code]", timeout=WAIT_MS)
    page.click("#gg-logout")
    page.wait_for_url(f"**{PREFIX}/login")
    # leaving a page aborts its live feed (EventSource); nothing else may fail
    report.failed_requests = [
        f for f in report.failed_requests if not f.endswith("/api/live (net::ERR_ABORTED)")
    ]
    assert report.clean, report.summary()
    assert outside == [], "requests outside the prefix: " + ", ".join(outside[:10])
    paths = {re.sub(r"^https?://[^/]+", "", u) for u in report.requests}
    assert paths and all(p.startswith(PREFIX + "/") for p in paths), sorted(paths)[:10]
    context.close()


@pytest.mark.browser
@pytest.mark.parametrize(
    ("role", "path", "select"),
    [
        ("planner", "/console/risk", "#rk-township"),
        ("planner", "/console/chronic", "#ch-township"),
        ("dispatcher", "/console/dispatcher", "#f-township"),
        ("department", "/console/department", None),
    ],
)
def test_each_desk_outlines_the_countys_townships_and_offers_them_as_a_filter(
    browser, base_url, role, path, select
):
    page, _report = desk(browser, base_url, role)
    page.goto(base_url + path)
    page.wait_for_function(
        "document.querySelectorAll('path.gg-townships').length === 15", timeout=WAIT_MS
    )  # Yongdeng's 15 townships (GG.outlines), each named on the map
    labels = page.eval_on_selector_all(".gg-label", "els => els.map(e => e.textContent)")
    assert "城关镇" in labels and len(labels) >= 15
    if select:
        options = page.eval_on_selector_all(f"{select} option", "els => els.map(e => e.value)")
        assert len([o for o in options if o]) == 15 and all(o.isdigit() for o in options if o)
    page.context.close()
