"""Accounts, tokens, cookies and CSRF, role permissions, masking and the audit log (tiny county, real commits)."""

from datetime import timedelta

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from api.security import CSRF_COOKIE, CSRF_HEADER, TOKEN_COOKIE, issue_token
from geo import clock
from tests.apps import app_for
from tests.auth_helpers import TEST_PASSWORD, authed, bearer, ensure_user, login, session_for, test_auth
from tests.dispatch_tiny import build


@pytest.fixture(scope="module")
def db(pg_server, empty_db_url):
    from tests.conftest import create_database

    url = create_database(pg_server, "gridgov_auth", template="gridgov_empty")
    engine = create_engine(url)
    with engine.begin() as conn:
        ids = build(conn)
        conn.execute(
            text(
                "INSERT INTO parties (event_id, role, name, phone, id_number) VALUES "
                "(:e, 'applicant', '张三丰', '13812345678', '620121199001011234'), (:e, 'respondent', '李四', NULL, NULL)"
            ),
            {"e": ids["event"]},
        )
    yield url, engine, ids
    engine.dispose()


@pytest.fixture
def app(db):
    return app_for(db[0])


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


def _status(resp, status, code=None):
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    if code:
        assert resp.json()["code"] == code
    return resp.json()


# --- authentication ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/events/1", "/ogc", "/ogc/collections", "/tiles/grids.json", "/maps/county", "/api/board"]
)
def test_routes_need_a_token(client, path):
    resp = client.get(path)
    _status(resp, 401, "not_authenticated")
    assert resp.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("path", ["/healthz", "/login", "/openapi.json", "/docs"])
def test_open_routes(client, path):
    assert client.get(path).status_code == 200


def test_login_page_is_chinese_and_self_contained(client):
    html = client.get("/login").text
    assert "登录" in html and 'action="/api/auth/token"' in html
    assert "http://" not in html and "https://" not in html


def test_login_returns_a_token_and_sets_httponly_cookies(client, db):
    ensure_user(db[0], "dispatcher", "620121", name="disp")
    resp = login(client, "disp")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (
        body["token_type"] == "bearer"
        and body["role"] == "dispatcher"
        and body["redirect"] == "/console/dispatcher"
    )
    cookies = resp.headers.get_list("set-cookie")
    token_cookie = next(c for c in cookies if c.startswith(TOKEN_COOKIE + "="))
    assert "HttpOnly" in token_cookie and "SameSite=lax" in token_cookie.replace("Lax", "lax")
    csrf_cookie = next(c for c in cookies if c.startswith(CSRF_COOKIE + "="))
    assert "HttpOnly" not in csrf_cookie
    # the bearer token works on its own
    fresh = TestClient(client.app)
    assert (
        fresh.get("/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}).json()["name"]
        == "disp"
    )


def test_login_rejects_a_wrong_password_and_unknown_names(client, db):
    ensure_user(db[0], "planner", "620121", name="plan")
    _status(login(client, "plan", "wrong-password"), 401, "not_authenticated")
    _status(login(client, "nobody", TEST_PASSWORD), 401, "not_authenticated")


def test_browser_form_login_redirects(client, db):
    ensure_user(db[0], "commander", "620121", name="boss")
    ok = client.post(
        "/api/auth/token",
        data={"username": "boss", "password": TEST_PASSWORD},
        headers={"Accept": "text/html"},
        follow_redirects=False,
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/console/commander"
    bad = client.post(
        "/api/auth/token",
        data={"username": "boss", "password": "nope-nope"},
        headers={"Accept": "text/html"},
        follow_redirects=False,
    )
    assert bad.status_code == 303 and bad.headers["location"] == "/login?error=not_authenticated"


@pytest.mark.parametrize(
    ("next_page", "location"),
    [
        ("/console/planner?layer=risk", "/console/planner?layer=risk"),
        ("https://evil.example/x", "/console/commander"),
        ("//evil.example/x", "/console/commander"),
        ("/\\evil.example", "/console/commander"),
    ],
)
def test_browser_login_returns_only_to_pages_of_this_site(client, db, next_page, location):
    ensure_user(db[0], "commander", "620121", name="boss2")
    ok = client.post(
        "/api/auth/token",
        data={"username": "boss2", "password": TEST_PASSWORD, "next": next_page},
        headers={"Accept": "text/html"},
        follow_redirects=False,
    )
    assert ok.status_code == 303 and ok.headers["location"] == location


def test_bad_expired_and_foreign_tokens_are_401(client, db):
    name = ensure_user(db[0], "commander", "620121", name="cmd")
    secret = test_auth().secret.get_secret_value()
    past = clock.now() - timedelta(hours=2)
    expired = jwt.encode({"sub": name, "iat": past, "exp": past + timedelta(minutes=1)}, secret, "HS256")
    forged = jwt.encode(
        {"sub": name, "iat": clock.now(), "exp": clock.now() + timedelta(hours=1)},
        "x" * 40,
        "HS256",
    )
    for token in ("garbage", expired, forged):
        _status(client.get("/api/board", headers={"Authorization": f"Bearer {token}"}), 401)
    _status(client.get("/api/board", headers={"Authorization": "Basic abc"}), 401)


def test_a_verified_token_still_expires(client, db, test_clock):
    """Verified tokens are remembered (api.security._VERIFIED); the expiry is checked on every use, by the
    product's clock."""
    name = ensure_user(db[0], "commander", "620121", name="cmd_expiring")
    sid, expires_at = session_for(db[0], name, lifetime=timedelta(minutes=10))
    account = type("A", (), {"name": name, "role": "commander", "area": "620121", "worker_id": None})
    token, _, _ = issue_token(test_auth(), account, sid, expires_at=expires_at)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/board", headers=headers).status_code == 200
    test_clock.advance(timedelta(minutes=10, seconds=1))
    got = _status(client.get("/api/board", headers=headers), 401)
    assert "过期" in got["detail"]


def test_disabled_account_stops_at_once(client, db):
    headers = bearer(db[0], "dispatcher", "620121", name="leaver")
    assert client.get("/api/board", headers=headers).status_code == 200
    assert client.get("/api/auth/me", headers=headers).status_code == 200
    with db[1].begin() as conn:
        conn.execute(text("UPDATE users SET active = false WHERE name = 'leaver'"))
    _status(client.get("/api/board", headers=headers), 401)
    _status(client.get("/api/auth/me", headers=headers), 401)  # a route that runs no query of its own


@pytest.mark.parametrize("change", ["role = 'planner'", "area = '620121001'"])
def test_token_of_a_changed_account_stops_at_once(client, db, change):
    headers = bearer(db[0], "dispatcher", "620121", name="mover")
    assert client.get("/api/board", headers=headers).status_code == 200
    with db[1].begin() as conn:
        conn.execute(text(f"UPDATE users SET {change} WHERE name = 'mover'"))
    _status(client.get("/api/board", headers=headers), 401)


def test_every_route_with_a_user_checks_the_account(app):
    """A token proves who signed in, not that the account is still active: every route that takes the
    user must reach the database check (through the session, or explicitly)."""
    from api.deps import get_checked_user, get_current_user, get_db

    def calls(dependant):
        out = set()
        for d in dependant.dependencies:
            out |= {d.call} | calls(d)
        return out

    contexts = [
        c for r in app.routes if hasattr(r, "effective_route_contexts") for c in r.effective_route_contexts()
    ]
    assert len(contexts) > 40
    explicit = {"/api/auth/password", "/api/auth/me"}  # check their session themselves, any scope
    unchecked = [
        c.path
        for c in contexts
        if get_current_user in calls(c.dependant)
        and not calls(c.dependant) & {get_db, get_checked_user}
        and c.path not in explicit
    ]
    assert unchecked == []


def test_cookie_requests_need_csrf_for_writes(client, db):
    ensure_user(db[0], "dispatcher", "620121", name="cookie")
    csrf = login(client, "cookie").json()["csrf_token"]
    eid = db[2]["event"]
    assert client.get(f"/api/events/{eid}").status_code == 200  # reads: cookie alone
    _status(client.post(f"/api/events/{eid}/escalate", json={}), 403, "forbidden")
    _status(
        client.post(f"/api/events/{eid}/escalate", json={}, headers={CSRF_HEADER: "wrong"}), 403, "forbidden"
    )
    _status(
        client.post(f"/api/events/{eid}/escalate", json={}, headers={"Origin": "https://evil.example"}), 403
    )
    ok = client.post(f"/api/events/{eid}/escalate", json={}, headers={CSRF_HEADER: csrf})
    assert ok.status_code == 200, ok.text
    same_origin = client.post(f"/api/events/{eid}/escalate", json={}, headers={"Origin": "http://testserver"})
    assert same_origin.status_code == 200, same_origin.text
    token = client.cookies.get(TOKEN_COOKIE)
    assert client.post("/api/auth/logout", headers={CSRF_HEADER: csrf}).status_code == 204
    _status(client.get(f"/api/events/{eid}"), 401)
    # the session ended: the same token, sent again, is refused too
    _status(client.get(f"/api/events/{eid}", headers={"Authorization": f"Bearer {token}"}), 401)


# --- roles ---------------------------------------------------------------------------------------


def test_planner_reads_but_may_not_act(client, db):
    authed(client, db[0], "planner", "620121")
    eid = db[2]["event"]
    assert client.get(f"/api/events/{eid}").status_code == 200
    _status(client.post(f"/api/events/{eid}/assign", json={"worker_id": db[2]["owner"]}), 403, "forbidden")
    _status(
        client.post(
            "/api/events", json={"category": "neighbour", "severity": 1, "lon": 103.005, "lat": 36.005}
        ),
        403,
    )
    _status(client.get("/api/audit"), 403)


def test_grid_worker_updates_only_their_own_position(client, db):
    ids = db[2]
    authed(client, db[0], "grid_worker", "620121001", worker_id=ids["owner"])
    mine = client.post(f"/api/workers/{ids['owner']}/location", json={"lon": 103.0091, "lat": 36.0091})
    assert mine.status_code == 200, mine.text
    _status(client.post(f"/api/workers/{ids['village']}/location", json={"lon": 103.005, "lat": 36.007}), 403)
    _status(client.post(f"/api/events/{ids['event']}/transition", json={"to": "closed"}), 403)


# --- privacy and audit ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("function", "value", "masked"),
    [
        ("gridgov_mask_name", "张三丰", "张某某"),
        ("gridgov_mask_name", "李四", "李*"),
        ("gridgov_mask_name", "欧阳娜娜", "欧某某某"),
        ("gridgov_mask_phone", "13812345678", "138****5678"),
        ("gridgov_mask_id_number", "620121199001011234", "620121********1234"),
    ],
)
def test_masking_rules(db, function, value, masked):
    with db[1].connect() as conn:
        assert conn.execute(text(f"SELECT {function}(:v)"), {"v": value}).scalar() == masked


def test_planner_sees_parties_and_workers_masked(client, db):
    ids = db[2]
    authed(client, db[0], "planner", "620121")
    parties = client.get(f"/api/events/{ids['event']}/parties").json()
    assert [(p["name"], p["phone"], p["id_number"]) for p in parties] == [
        ("张某某", "138****5678", "620121********1234"),
        ("李*", None, None),
    ]
    cands = client.get(f"/api/events/{ids['event']}/candidates").json()
    assert all("****" in c["phone"] for c in cands["candidates"])
    layer = client.get("/ogc/collections/workers/items").json()
    assert {f["properties"]["name"] for f in layer["features"]} >= {"o某某某某"}  # owner


def test_cleared_reads_are_unmasked_and_audited(client, db):
    ids = db[2]
    authed(client, db[0], "dispatcher", "620121", name="auditee")
    parties = client.get(f"/api/events/{ids['event']}/parties").json()
    assert parties[0]["name"] == "张三丰" and parties[0]["phone"] == "13812345678"
    with db[1].connect() as conn:
        row = conn.execute(
            text("SELECT action, detail FROM audit_log WHERE actor = 'auditee' ORDER BY seq DESC")
        ).first()
    assert row.action == "read_personal"
    assert row.detail["request"] == f"GET /api/events/{ids['event']}/parties" and row.detail["what"] == "name"


def test_changes_are_audited_with_before_and_after(client, db):
    ids = db[2]
    authed(client, db[0], "dispatcher", "620121", name="changer")
    resp = client.patch(f"/api/workers/{ids['village']}", json={"available": False})
    assert resp.status_code == 200, resp.text
    authed(client, db[0], "auditor", "620121")
    page = client.get("/api/audit", params={"actor": "changer", "table": "workers"}).json()
    assert page["total"] >= 1
    entry = page["items"][0]
    assert entry["action"] == "update" and entry["target_id"] == str(ids["village"])
    assert entry["before"]["available"] is True and entry["after"]["available"] is False
    assert client.get("/api/audit", params={"limit": 1, "offset": 0}).json()["limit"] == 1
    _status(client.get("/api/audit", params={"limit": 0}), 422)
    _status(
        client.patch(f"/api/workers/{ids['village']}", json={"available": True}), 403
    )  # administrators do no casework
