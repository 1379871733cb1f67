"""The app logs in as a role that is neither superuser nor owner; row-level security binds that login;
the case timeline, issued reports and the audit log are append-only for it; one file holds the rules."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from api.main import create_app
from geo.db.policies import apply_policies, policy_blocks
from geo.settings import DbSettings
from tests.apps import app_url, settings_for


def test_the_apps_login_is_neither_superuser_nor_owner_and_bypasses_nothing(sec, sec_app):
    with TestClient(sec_app):
        with sec_app.state.engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT current_user, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles "
                    "WHERE rolname = current_user"
                )
            ).one()
            owns = conn.execute(
                text(
                    "SELECT count(*) FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)"
                )
            ).scalar()
    assert tuple(row) == ("gridgov_web", False, False, False, False) and owns == 0


def test_the_app_refuses_to_serve_as_a_superuser(sec):
    owner = settings_for(sec.url).but(db=DbSettings(_env_file=None, url=sec.url))
    with pytest.raises(RuntimeError, match="superuser"):
        with TestClient(create_app(owner)):
            pass


def test_gridgov_serve_refuses_a_superuser_login(sec, monkeypatch, capsys):
    from api.settings import get_settings
    from cli.main import main

    monkeypatch.setenv("DATABASE_URL", sec.url)
    get_settings.cache_clear()
    try:
        assert main(["serve", "--port", "1"]) == 2
    finally:
        get_settings.cache_clear()
    assert "superuser" in capsys.readouterr().err


def _as_login(sec):
    return create_engine(app_url(sec.url).replace("postgresql://", "postgresql+psycopg://", 1))


def test_row_level_security_binds_the_login_itself(sec):
    """Without the per-transaction switch (no area, no role), the login sees no case and no audit row."""
    engine = _as_login(sec)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM events")).scalar() == 0
            assert conn.execute(text("SELECT count(*) FROM parties")).scalar() == 0
            assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar() == 0
            conn.execute(text("SELECT set_config('gridgov.area', '620121', false)"))
            # The login is also a member of gridgov_department (department requests switch to it), whose
            # restrictive policies bind the login too: with an area alone it still sees no case ...
            assert conn.execute(text("SELECT count(*) FROM events")).scalar() == 0
            conn.execute(text("SET ROLE gridgov_app"))  # ... as the requests' role, the area's cases only
            assert conn.execute(text("SELECT count(*) FROM events")).scalar() == 1  # not county 620122's
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE event_log SET note = 'x'",
        "DELETE FROM event_log",
        "DELETE FROM reports",
        "UPDATE reports SET figures = '{}'",
        "UPDATE audit_log SET actor = 'x'",
        "DELETE FROM audit_log",
        "DELETE FROM events",
        "TRUNCATE event_log",
        "CREATE TABLE intruder (id int)",
        "ALTER TABLE events DISABLE ROW LEVEL SECURITY",
    ],
)
def test_the_app_may_not_change_history_or_the_schema(sec, statement):
    engine = _as_login(sec)
    try:
        with engine.connect() as conn, pytest.raises(DBAPIError, match="permission denied|must be owner"):
            conn.execute(text("SELECT set_config('gridgov.area', '620121', false)"))
            conn.execute(
                text(f"SET ROLE gridgov_app; {statement}") if statement[0] != "C" else text(statement)
            )
    finally:
        engine.dispose()


_ROWS = {
    "event_log": "INSERT INTO event_log (event_id, at, actor, action) SELECT min(id), now(), 't', 'report' FROM events",
    "reports": "INSERT INTO reports (period, period_start, period_end, area, cutoff_at, issued_at, figures) "
    "VALUES ('daily', now() - interval '2 days', now() - interval '1 day', '620121', now(), now(), '{}')",
}


@pytest.mark.parametrize("table", sorted(_ROWS))
def test_a_regranted_delete_still_meets_the_append_only_trigger(sec, table):
    with sec.engine.connect() as conn:
        conn.execute(text(_ROWS[table]))  # a row, as the owner; all rolled back below
        conn.execute(text(f"GRANT UPDATE, DELETE ON {table} TO gridgov_app"))
        conn.execute(text("SELECT set_config('gridgov.area', '620121', true)"))
        conn.execute(text("SET LOCAL ROLE gridgov_app"))
        with pytest.raises(DBAPIError, match="append-only"):
            conn.execute(text(f"DELETE FROM {table}"))
        conn.rollback()


def test_every_table_has_its_access_in_the_one_policies_file(sec):
    with sec.engine.connect() as conn:
        # Tables and partitioned tables; a partition is reached through its parent, whose access applies
        # (the app may not read a partition itself: geo/sql/policies.sql, worker_fixes).
        rls = dict(
            conn.execute(
                text(
                    "SELECT relname, relrowsecurity FROM pg_class WHERE relkind IN ('r', 'p') AND NOT relispartition"
                    " AND relnamespace = 'public'::regnamespace AND relname <> 'spatial_ref_sys'"
                )
            ).all()
        )
        partitions = conn.execute(
            text(
                "SELECT count(*) FROM pg_class WHERE relispartition AND has_table_privilege('gridgov_app', oid, 'SELECT')"
            )
        ).scalar()
    tables = set(rls)
    assert partitions == 0
    assert tables - set(policy_blocks()) == set(), "give every table a block in geo/sql/policies.sql"
    assert [t for t in tables if not rls[t]] == []  # row-level security on everywhere


def test_applying_the_policies_file_again_changes_nothing(sec):
    query = text(
        "SELECT tablename, policyname, roles::text, cmd, qual, with_check FROM pg_policies "
        "WHERE schemaname = 'public' ORDER BY 1, 2"
    )
    grants = text(
        "SELECT table_name, grantee, privilege_type FROM information_schema.role_table_grants "
        "WHERE grantee IN ('gridgov_app', 'gridgov_auth') ORDER BY 1, 2, 3"
    )
    with sec.engine.connect() as conn:
        before = (conn.execute(query).all(), conn.execute(grants).all())
        apply_policies(conn)
        assert (conn.execute(query).all(), conn.execute(grants).all()) == before
        conn.rollback()
