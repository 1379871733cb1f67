"""Login throttling: after 5 failures within 15 minutes an account name (known or not: the same answer)
is locked (423) and a client address throttled (429), in Chinese; every lock is audited; the lock ends
after its time or when the security administrator lifts it."""

from datetime import timedelta

from tests.auth_helpers import TEST_PASSWORD
from tests.security.conftest import account, bearer_of, client_from, login_as, scalar


def _fail(client, name, times=5):
    for _ in range(times):
        assert login_as(client, name, "wrong-password").status_code == 401


def test_five_failures_lock_the_account_even_for_the_right_password(sec, sec_app):
    name = account(sec, "planner", "target")
    with client_from(sec_app, "198.51.100.10") as attacker:
        _fail(attacker, name)
        refused = login_as(attacker, name, TEST_PASSWORD)
    assert refused.status_code == 423 and refused.headers["content-type"].startswith(
        "application/problem+json"
    )
    body = refused.json()
    assert body["code"] == "account_locked" and "锁定" in body["detail"] and "安全管理员" in body["detail"]
    assert int(refused.headers["Retry-After"]) > 14 * 60
    with client_from(sec_app, "198.51.100.11") as owner_elsewhere:  # the account, not the address, is locked
        assert login_as(owner_elsewhere, name).status_code == 423
    audited = scalar(
        sec, "SELECT count(*) FROM audit_log WHERE action = 'login_lock' AND target_id = :n", n=name
    )
    assert audited == 1


def test_unknown_names_get_the_same_answers(sec, sec_app):
    with client_from(sec_app, "198.51.100.20") as client:
        first = login_as(client, "nobody_at_all", "wrong-password")
        assert first.status_code == 401 and first.json()["detail"] == "用户名或密码错误"
        _fail(client, "nobody_at_all", 4)
        locked = login_as(client, "nobody_at_all", TEST_PASSWORD)
    assert locked.status_code == 423 and locked.json()["code"] == "account_locked"


def test_five_failures_from_one_address_throttle_it_for_every_name(sec, sec_app):
    good = account(sec, "planner", "innocent")
    with client_from(sec_app, "198.51.100.30") as sprayer:
        for n in range(5):
            assert login_as(sprayer, f"guess{n}", "wrong-password").status_code == 401
        throttled = login_as(sprayer, good)
    assert throttled.status_code == 429 and throttled.json()["code"] == "too_many_attempts"
    assert "分钟后再试" in throttled.json()["detail"] and "Retry-After" in throttled.headers
    with client_from(sec_app, "198.51.100.31") as elsewhere:
        assert login_as(elsewhere, good).status_code == 200
    locks = scalar(
        sec, "SELECT count(*) FROM audit_log WHERE action = 'login_lock' AND target_id = '198.51.100.30'"
    )
    assert locks == 1


def test_a_lock_ends_after_its_time(sec, sec_app, test_clock):
    name = account(sec, "planner", "patient")
    with client_from(sec_app, "198.51.100.40") as client:
        _fail(client, name)
        assert login_as(client, name).status_code == 423
        test_clock.advance(timedelta(minutes=15, seconds=1))
        assert login_as(client, name).status_code == 200


def test_the_security_administrator_lifts_a_lock_and_only_they_may(sec, sec_app):
    name = account(sec, "dispatcher", "locked_out")
    sec_admin = account(sec, "secadmin", "the_secadmin")
    sys_admin = account(sec, "sysadmin", "a_sysadmin")
    with client_from(sec_app, "198.51.100.50") as client:
        _fail(client, name)
    with client_from(sec_app, "198.51.100.51") as desk:
        assert login_as(desk, name).status_code == 423
        body = {"kind": "account", "subject": name}
        other = bearer_of(login_as(desk, sys_admin))
        assert desk.post("/api/security/unlock", json=body, headers=other).status_code == 403
        admin = bearer_of(login_as(desk, sec_admin))
        locks = desk.get("/api/security/locks", headers=admin).json()
        assert [(lock["kind"], lock["subject"]) for lock in locks if lock["subject"] == name] == [
            ("account", name)
        ]
        assert desk.post("/api/security/unlock", json=body, headers=admin).json()["lifted"] == 1
        assert login_as(desk, name).status_code == 200
    assert (
        scalar(sec, "SELECT actor FROM audit_log WHERE action = 'login_unlock' AND target_id = :n", n=name)
        == sec_admin
    )


def test_a_success_starts_the_accounts_count_again(sec, sec_app):
    name = account(sec, "planner", "forgetful")
    for addr in ("198.51.100.60", "198.51.100.61"):  # an address's count goes on: a success does not clear it
        with client_from(sec_app, addr) as client:
            _fail(client, name, 4)
            assert login_as(client, name).status_code == 200
