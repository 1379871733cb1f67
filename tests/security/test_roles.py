"""Separation of duties (三员分立): the system administrator manages accounts, the security administrator
roles, areas and unlocks, the audit administrator reads and exports the audit log; none does casework,
reads cases, or touches the administrators' accounts; each account holds one role."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from geo import vocabulary
from geo.accounts import ADMIN_ROLES, PERMISSIONS, ROLES
from tests.security.conftest import account, bearer_of, client_from, login_as, scalar

EVERY_ROLE = (
    "commander",
    "dispatcher",
    "planner",
    "grid_worker",
    "department",
    "sysadmin",
    "secadmin",
    "auditor",
)


def test_the_roles_are_the_eight_of_the_vocabulary_and_the_database(sec):
    assert ROLES == tuple(vocabulary.ROLES) == EVERY_ROLE
    check = scalar(
        sec, "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'users_role_check'"
    )
    assert sorted(re_roles(check)) == sorted(EVERY_ROLE)


def re_roles(check: str) -> list[str]:
    import re

    return re.findall(r"'([a-z_]+)'", check)


def test_no_two_administrators_powers_share_a_role():
    powers = {"manage_accounts": "sysadmin", "manage_access": "secadmin", "read_audit": "auditor"}
    for action, role in powers.items():
        assert PERMISSIONS[action] == {role}
    assert all(not (PERMISSIONS["read"] & {r}) for r in ADMIN_ROLES)


@pytest.fixture(scope="module")
def admins(sec, sec_app):
    with client_from(sec_app) as client:
        yield client, {r: bearer_of(login_as(client, account(sec, r, f"duty_{r}"))) for r in ADMIN_ROLES}


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/api/audit", {"auditor"}),
        ("GET", "/api/audit/export.csv", {"auditor"}),
        ("GET", "/api/audit/verify", {"auditor"}),
        ("GET", "/api/accounts", {"sysadmin", "secadmin"}),
        ("GET", "/api/system/settings", {"sysadmin"}),
        ("GET", "/api/security/locks", {"secadmin"}),
        ("GET", "/api/board", set()),
        ("GET", "/api/events/{event}", set()),
        ("GET", "/api/events/{event}/parties", set()),
        ("GET", "/maps/county", set()),
        ("GET", "/ogc/collections/workers/items", set()),
        ("GET", "/api/exports/disputes.csv", set()),
        ("GET", "/api/reports/daily", set()),
        ("POST", "/api/events/{event}/escalate", set()),
    ],
)
def test_each_administrator_may_do_their_own_work_only(sec, admins, method, path, allowed):
    client, headers = admins
    url = path.replace("{event}", str(sec.ids["event"]))
    got = {
        role: client.request(method, url, headers=h, json={} if method == "POST" else None).status_code
        for role, h in headers.items()
    }
    assert {r for r, status in got.items() if status == 200} == allowed, got
    assert {status for r, status in got.items() if r not in allowed} <= {403}, got


def test_the_sysadmin_creates_business_accounts_only_and_never_touches_an_administrator(sec, admins):
    client, headers = admins
    boss = headers["sysadmin"]
    made = client.post(
        "/api/accounts",
        json={"name": "fresh_planner", "role": "planner", "area": "620121", "password": "Kx7#pq-Lm2zV"},
        headers=boss,
    )
    assert made.status_code == 201 and made.json()["role"] == "planner"
    assert scalar(sec, "SELECT must_change_password FROM users WHERE name = 'fresh_planner'") is True
    admin = client.post(
        "/api/accounts",
        json={"name": "new_auditor", "role": "auditor", "area": "620121", "password": "Kx7#pq-Lm2zV"},
        headers=boss,
    )
    assert admin.status_code == 422  # not a role the app may give
    assert client.post("/api/accounts/duty_auditor/disable", headers=boss).status_code == 403
    assert (
        client.post("/api/accounts/duty_sysadmin/disable", headers=boss).status_code == 403
    )  # nor themselves
    outside = client.post(
        "/api/accounts",
        json={"name": "far_away", "role": "planner", "area": "620122", "password": "Kx7#pq-Lm2zV"},
        headers=boss,
    )
    assert outside.status_code == 403


def test_the_secadmin_sets_roles_and_areas_but_never_an_administrators(sec, admins):
    client, headers = admins
    target = account(sec, "planner", "promoted")
    with client_from(client.app) as other:
        victim = bearer_of(login_as(other, target))
        sa = headers["secadmin"]
        changed = client.patch(
            f"/api/accounts/{target}", json={"role": "dispatcher", "area": "620121001"}, headers=sa
        )
        assert changed.status_code == 200 and changed.json()["role"] == "dispatcher"
        assert other.get("/api/auth/me", headers=victim).status_code == 401  # its sessions ended
        assert (
            client.patch(
                "/api/accounts/duty_sysadmin", json={"role": "planner", "area": "620121"}, headers=sa
            ).status_code
            == 403
        )
        assert (
            client.post(
                "/api/accounts",
                json={"name": "x1", "role": "planner", "area": "620121", "password": "Kx7#pq-Lm2zV"},
                headers=sa,
            ).status_code
            == 403
        )


def test_the_database_refuses_the_app_an_administrators_account(sec):
    with sec.engine.connect() as conn:
        conn.execute(text("SELECT set_config('gridgov.area', '620121', true)"))
        conn.execute(text("SET LOCAL ROLE gridgov_app"))
        with pytest.raises(DBAPIError, match="row-level security"):
            conn.execute(
                text(
                    "INSERT INTO users (name, password_hash, role, area) VALUES ('sneaky', 'x', 'secadmin', '620121')"
                )
            )
        conn.rollback()


def test_the_auditors_reads_are_audited_too(sec, admins):
    client, headers = admins
    before = scalar(
        sec, "SELECT count(*) FROM audit_log WHERE actor = 'duty_auditor' AND action = 'read_audit'"
    )
    assert client.get("/api/audit/export.csv", headers=headers["auditor"]).text.startswith("\ufeffseq,id,at")
    assert (
        scalar(sec, "SELECT count(*) FROM audit_log WHERE actor = 'duty_auditor' AND action = 'read_audit'")
        == before + 1
    )


# Routes an administrator may reach: logging in and out, the own account, their work, the words, pages
# that send them on (pages check the role themselves), the OpenAPI document and health.
OPEN_TO_ADMINISTRATORS = ("/api/auth/", "/api/audit", "/api/accounts", "/api/security/", "/api/system/")
OPEN_PATHS = {
    "/api/vocabulary",
    "/healthz",
    "/docs",
    "/openapi.json",
    "/login",
    "/password",
    "/account",
    "/",
    "/console/{view}",
    "/console/sw.js",  # the phone page's offline shell: static files, no data
    "/console/manifest.webmanifest",
}


def test_every_other_route_needs_a_business_role(sec_app):
    def calls(dependant):
        return {getattr(d.call, "__name__", "") for d in dependant.dependencies} | {
            n for d in dependant.dependencies for n in calls(d)
        }

    routes = [
        c
        for r in sec_app.routes
        if hasattr(r, "effective_route_contexts")
        for c in r.effective_route_contexts()
    ]
    assert len(routes) > 60
    loose = [
        r.path
        for r in routes
        if "require_read" not in calls(r.dependant)
        and not r.path.startswith(OPEN_TO_ADMINISTRATORS)
        and r.path not in OPEN_PATHS
    ]
    assert loose == []
