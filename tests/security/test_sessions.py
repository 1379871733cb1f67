"""Server-side sessions: logout, "log out everywhere" and disabling end them at once; an idle session
ends after GRID_AUTH_SESSION_IDLE_MINUTES, every session after GRID_AUTH_SESSION_MAX_MINUTES; a GET
changes nothing but the session's last-seen time, at most once a minute."""

from datetime import timedelta

from sqlalchemy import text

from api.security import AuthSettings
from tests.apps import app_for
from tests.security.conftest import account, bearer_of, client_from, login_as, scalar


def _me(client, headers) -> int:
    return client.get("/api/auth/me", headers=headers).status_code


def test_logout_ends_the_session_at_once_and_only_that_one(sec, sec_app):
    name = account(sec, "planner", "two_devices")
    with client_from(sec_app) as client:
        phone, desk = bearer_of(login_as(client, name)), bearer_of(login_as(client, name))
        assert client.post("/api/auth/logout", headers=phone).status_code == 204
        assert (_me(client, phone), _me(client, desk)) == (401, 200)
        assert client.get("/api/board", headers=phone).status_code == 401


def test_log_out_everywhere_ends_every_session_of_the_account(sec, sec_app):
    name = account(sec, "planner", "everywhere")
    other = account(sec, "planner", "bystander")
    with client_from(sec_app) as client:
        mine = [bearer_of(login_as(client, name)) for _ in range(3)]
        theirs = bearer_of(login_as(client, other))
        assert client.post("/api/auth/logout?everywhere=true", headers=mine[0]).status_code == 204
        assert [_me(client, h) for h in mine] == [401, 401, 401] and _me(client, theirs) == 200
    assert (
        scalar(sec, "SELECT count(*) FROM audit_log WHERE actor = :n AND action = 'logout_all'", n=name) == 1
    )


def test_disabling_an_account_ends_its_sessions_at_once(sec, sec_app):
    name = account(sec, "dispatcher", "to_disable")
    admin = account(sec, "sysadmin", "the_sysadmin")
    with client_from(sec_app) as client:
        victim = bearer_of(login_as(client, name))
        assert client.get("/api/board", headers=victim).status_code == 200
        boss = bearer_of(login_as(client, admin))
        assert client.post(f"/api/accounts/{name}/disable", headers=boss).status_code == 200
        assert client.get("/api/board", headers=victim).status_code == 401
        assert login_as(client, name).status_code == 401  # and it cannot log in again
    ended = scalar(
        sec,
        "SELECT count(*) FROM user_sessions s JOIN users u ON u.id = s.user_id WHERE u.name = :n AND s.revoked_reason = 'disabled'",
        n=name,
    )
    assert ended == 1


def test_an_idle_session_ends_and_activity_keeps_it(sec, test_clock):
    app = app_for(
        sec.url, auth=AuthSettings(_env_file=None, session_idle_minutes=30, session_max_minutes=480)
    )
    name = account(sec, "planner", "idler")
    with client_from(app) as client:
        busy, idle = bearer_of(login_as(client, name)), bearer_of(login_as(client, name))
        for _ in range(3):  # 3 x 20 minutes of work: more than the idle timeout, never idle that long
            test_clock.advance(timedelta(minutes=20))
            assert _me(client, busy) == 200
        assert _me(client, idle) == 401  # 60 minutes without a request
        test_clock.advance(timedelta(minutes=31))
        assert _me(client, busy) == 401


def test_every_session_ends_after_its_lifetime_whatever_the_activity(sec, test_clock):
    app = app_for(
        sec.url, auth=AuthSettings(_env_file=None, session_idle_minutes=30, session_max_minutes=120)
    )
    name = account(sec, "planner", "long_day")
    with client_from(app) as client:
        headers = bearer_of(login_as(client, name))
        for _ in range(5):
            test_clock.advance(timedelta(minutes=20))
            assert _me(client, headers) == 200
        test_clock.advance(timedelta(minutes=21))  # 121 minutes after the login
        assert _me(client, headers) == 401


def _fingerprint(sec) -> dict:
    with sec.engine.connect() as conn:
        tables = (
            conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'spatial_ref_sys'"
                )
            )
            .scalars()
            .all()
        )
        return {
            t: conn.execute(
                text(f"SELECT md5(coalesce(string_agg(x::text, '' ORDER BY x::text), '')) FROM {t} x")
            ).scalar()
            for t in tables
        }


def test_a_get_changes_nothing_but_the_sessions_last_seen_once_a_minute(sec, sec_app, test_clock):
    name = account(sec, "planner", "reader")  # uncleared: its reads write no audit row
    with client_from(sec_app) as client:
        headers = bearer_of(login_as(client, name))
        before = _fingerprint(sec)
        test_clock.advance(timedelta(minutes=2))
        assert client.get("/api/board", headers=headers).status_code == 200
        after = _fingerprint(sec)
        assert [t for t in before if before[t] != after[t]] == ["user_sessions"]
        test_clock.advance(timedelta(seconds=30))
        assert client.get("/api/board", headers=headers).status_code == 200
        assert client.get(f"/api/events/{sec.ids['event']}", headers=headers).status_code == 200
        assert _fingerprint(sec) == after  # within the minute: nothing at all
