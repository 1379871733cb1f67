"""Security headers on every kind of page and answer; scripts only from this site or with the response's
nonce (the Folium pages' inline scripts carry it); no framing by other sites; the login refuses a
cross-site form."""

import re

import pytest

from tests.security.conftest import account, bearer_of, client_from, login_as

PAGES = {
    "login page": "/login",
    "password page": "/password",
    "account page": "/account",
    "console page": "/console/dispatcher",
    "folium map page": "/maps/county",
    "JSON API": "/api/board",
    "OGC API": "/ogc/collections/grids/items?limit=1",
    "vector tile": "/tiles/grids/14/13502/6460.mvt",
    "static file": "/static/js/common.js",
    "health": "/healthz",
    "OpenAPI page": "/docs",
    "problem (404)": "/api/events/999999",
    "problem (401)": "/api/summary",
}


@pytest.fixture(scope="module")
def browser_like(sec, sec_app):
    name = account(sec, "dispatcher", "header_reader")
    with client_from(sec_app) as client:
        login_as(client, name)  # the cookies, as a browser after /login
        yield client


def _directives(csp: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in csp.split("; ")}


@pytest.mark.parametrize("path", PAGES.values(), ids=PAGES.keys())
def test_every_kind_of_answer_carries_the_security_headers(browser_like, path):
    resp = browser_like.get(path, follow_redirects=False)
    assert resp.status_code < 500, resp.text
    h = resp.headers
    assert h["X-Content-Type-Options"] == "nosniff" and h["Referrer-Policy"] == "same-origin"
    csp = _directives(h["Content-Security-Policy"])
    assert "'unsafe-inline'" not in csp["script-src"] and "'unsafe-eval'" not in csp["script-src"]
    assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'none'"]
    framed = path.startswith("/maps/")  # the planner's view frames the map pages, nobody else may
    assert csp["frame-ancestors"] == (["'self'"] if framed else ["'none'"])
    assert h["X-Frame-Options"] == ("SAMEORIGIN" if framed else "DENY")


def test_the_map_pages_inline_scripts_all_carry_the_nonce_of_their_answer(browser_like):
    resp = browser_like.get("/maps/county")
    nonce = re.search(r"'nonce-([^']+)'", resp.headers["Content-Security-Policy"]).group(1)
    scripts = re.findall(r"<script\b[^>]*>", resp.text)
    assert len(scripts) >= 3 and any("src=" not in s for s in scripts)  # files and inline scripts
    assert [s for s in scripts if f'nonce="{nonce}"' not in s] == []
    assert (
        browser_like.get("/maps/county").headers["Content-Security-Policy"]
        != resp.headers["Content-Security-Policy"]
    )


def test_console_pages_have_no_inline_script_to_run(browser_like):
    html = browser_like.get("/console/dispatcher").text + browser_like.get("/login").text
    inline = [
        s for s in re.findall(r"<script\b([^>]*)>", html) if "src=" not in s and "application/json" not in s
    ]
    assert inline == []


def test_the_login_form_refuses_a_cross_site_post(sec, sec_app):
    name = account(sec, "planner", "phished")
    with client_from(sec_app) as client:
        evil = login_as(client, name, Origin="https://evil.example")
        assert evil.status_code == 403 and evil.json()["where"] == "Origin"
        assert login_as(client, name, **{"Sec-Fetch-Site": "cross-site"}).status_code == 403
        assert login_as(client, name, Origin="http://testserver").status_code == 200
        assert login_as(client, name).status_code == 200  # API clients send no Origin


def test_changing_a_password_refuses_a_cross_site_post(sec, sec_app):
    name = account(sec, "planner", "phished_twice")
    with client_from(sec_app) as client:
        headers = bearer_of(login_as(client, name)) | {"Origin": "https://evil.example"}
        body = {"current_password": "test-password-1", "new_password": "Kx7#pq-Lm2zV"}
        assert client.post("/api/auth/password", json=body, headers=headers).status_code == 403


@pytest.mark.parametrize("path", ["/docs", "/login", "/console/dispatcher", "/maps/county"])
def test_no_page_loads_anything_from_another_host(browser_like, path):
    """Offline intranets: every script, style and image of a page (Swagger UI too) is this site's own, and
    the CSP allows no other host for scripts or styles."""
    resp = browser_like.get(path)
    assert resp.status_code == 200
    assets = re.findall(r"<(?:script|link|img)\b[^>]*(?:src|href)=[\"']([^\"']+)", resp.text)
    assert assets and [a for a in assets if re.match(r"(https?:)?//", a)] == []
    csp = _directives(resp.headers["Content-Security-Policy"])
    assert [s for s in csp["script-src"] + csp["style-src"] if "://" in s or s.startswith("https")] == []
