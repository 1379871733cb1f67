"""Passwords: 10+ characters of three classes, not the name, not common; accounts made by the CLI (or
reset by the system administrator) change theirs at first login; passwords expire; demo accounts do not."""

import io
from datetime import timedelta

import pytest
from sqlalchemy import text

from geo import clock
from geo.access.passwords import password_problem
from tests.security.conftest import account, bearer_of, client_from, login_as, scalar

GOOD = "Kx7#pq-Lm2zV"


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("12345678", "至少 10 个字符"),
        ("abcdefghijkl", "至少三类"),
        ("abcdefgh1234", "至少三类"),
        ("Dispatcher#2026", "用户名"),
        ("Password123!", "常见"),
        ("P@ssw0rd2024", "常见"),
        ("Admin@1234567", "常见"),
        ("1Qaz2wsx!!", "常见"),
        ("Woaini1314!", "常见"),
    ],
)
def test_weak_passwords_are_refused_saying_why(password, why):
    assert why in (password_problem(password, "dispatcher") or "")


@pytest.mark.parametrize(
    "password", [GOOD, "绿水青山就是金山银山-2026", "Yh-Tr4m-99xz", "correct horse Battery 9"]
)
def test_strong_passwords_are_accepted(password):
    assert password_problem(password, "dispatcher") is None


def _cli(monkeypatch, sec, *argv, stdin="") -> int:
    from api.settings import get_settings
    from cli.main import main

    monkeypatch.setenv("DATABASE_URL", sec.url)
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    get_settings.cache_clear()
    try:
        return main(list(argv))
    finally:
        get_settings.cache_clear()


def test_the_cli_refuses_a_weak_password(sec, monkeypatch, capsys):
    assert (
        _cli(
            monkeypatch,
            sec,
            "user",
            "add",
            "weakling",
            "--role",
            "planner",
            "--area",
            "620121",
            stdin="12345678\n",
        )
        == 1
    )
    assert "至少 10 个字符" in capsys.readouterr().err


def test_an_account_made_by_the_cli_must_change_its_password_first(sec, sec_app, monkeypatch):
    assert (
        _cli(
            monkeypatch,
            sec,
            "user",
            "add",
            "newcomer",
            "--role",
            "planner",
            "--area",
            "620121",
            stdin=GOOD + "\n",
        )
        == 0
    )
    with client_from(sec_app) as client:
        first = login_as(client, "newcomer", GOOD)
        assert first.json()["password_change_required"] and first.json()["redirect"] == "/password"
        limited = bearer_of(first)
        refused = client.get("/api/board", headers=limited)
        assert refused.status_code == 403 and refused.json()["code"] == "password_change_required"
        assert client.get("/api/auth/me", headers=limited).json()["password_change_required"] is True
        weak = client.post(
            "/api/auth/password",
            json={"current_password": GOOD, "new_password": "newcomer-2026X"},
            headers=limited,
        )
        assert weak.status_code == 400 and "用户名" in weak.json()["detail"]
        changed = client.post(
            "/api/auth/password",
            json={"current_password": GOOD, "new_password": "Yh-Tr4m-99xz"},
            headers=limited,
        )
        assert changed.status_code == 200 and not changed.json()["password_change_required"]
        assert client.get("/api/board", headers=bearer_of(changed)).status_code == 200
        assert client.get("/api/auth/me", headers=limited).status_code == 401  # the old session ended
        assert login_as(client, "newcomer", GOOD).status_code == 401
        assert login_as(client, "newcomer", "Yh-Tr4m-99xz").json()["password_change_required"] is False


def test_a_wrong_current_password_changes_nothing_and_counts_as_a_failure(sec, sec_app):
    name = account(sec, "planner", "careful")
    with client_from(sec_app, "198.51.100.70") as client:
        headers = bearer_of(login_as(client, name))
        wrong = client.post(
            "/api/auth/password", json={"current_password": "not-it", "new_password": GOOD}, headers=headers
        )
        assert wrong.status_code == 401 and wrong.json()["where"] == "current_password"
    assert (
        scalar(
            sec,
            "SELECT count(*) FROM login_failures WHERE account = :n AND reason = 'password_change'",
            n=name,
        )
        == 1
    )


def test_an_old_password_must_be_changed_and_demo_accounts_are_exempt(sec, sec_app):
    stale, demo = account(sec, "planner", "stale_pw"), account(sec, "planner", "demo_pw")
    old = clock.now() - timedelta(days=91)
    with sec.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE users SET password_changed_at = :t, demo = (name = 'demo_pw') WHERE name IN ('stale_pw', 'demo_pw')"
            ),
            {"t": old},
        )
    with client_from(sec_app) as client:
        assert login_as(client, stale).json()["password_change_required"] is True
        assert login_as(client, demo).json()["password_change_required"] is False


def test_the_sysadmin_resets_a_password_which_must_then_be_changed(sec, sec_app):
    name, admin = account(sec, "dispatcher", "reset_me"), account(sec, "sysadmin", "resetter")
    with client_from(sec_app) as client:
        victim = bearer_of(login_as(client, name))
        boss = bearer_of(login_as(client, admin))
        weak = client.put(f"/api/accounts/{name}/password", json={"password": "short"}, headers=boss)
        assert weak.status_code == 400
        assert (
            client.put(f"/api/accounts/{name}/password", json={"password": GOOD}, headers=boss).status_code
            == 200
        )
        assert client.get("/api/auth/me", headers=victim).status_code == 401
        assert login_as(client, name, GOOD).json()["password_change_required"] is True


def test_the_change_password_page_is_chinese_and_self_contained(sec_app):
    with client_from(sec_app) as client:
        page = client.get("/password")
    assert page.status_code == 200 and "修改密码" in page.text and "/static/js/password.js" in page.text
    assert "<script>" not in page.text and "http://" not in page.text


def test_a_console_page_sends_a_login_that_must_change_its_password_to_the_password_page(sec, sec_app):
    stale = account(sec, "planner", "stale_page")
    with sec.engine.begin() as conn:
        conn.execute(
            text("UPDATE users SET password_changed_at = :t WHERE name = 'stale_page'"),
            {"t": clock.now() - timedelta(days=91)},
        )
    with client_from(sec_app) as client:
        assert login_as(client, stale).json()["password_change_required"] is True  # the cookies, as a browser
        page = client.get("/console/planner", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/password"
        assert client.get("/", follow_redirects=False).headers["location"] == "/password"
