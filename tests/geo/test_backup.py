"""Backup and restore round trip: every table's row count and checksum survive; restores need an empty DB."""

import pytest
from sqlalchemy import create_engine, text

from cli.main import main as gridgov
from geo.db.backup import table_fingerprints
from geo.errors import ConflictError
from tests.auth_helpers import ensure_user
from tests.dispatch_tiny import build


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def test_backup_and_restore_round_trip(pg_server, fresh_db_url, tmp_path, monkeypatch):
    from tests.conftest import create_database

    source = create_engine(fresh_db_url)
    with source.begin() as conn:
        ids = build(conn)
        conn.execute(text("SELECT set_config('gridgov.actor', 'backup-test', true)"))
        conn.execute(text("UPDATE workers SET available = false WHERE id = :w"), {"w": ids["owner"]})
        conn.execute(
            text(
                "INSERT INTO parties (event_id, role, name, phone) VALUES (:e, 'applicant', '张三', '13812345678')"
            ),
            {"e": ids["event"]},
        )
    ensure_user(fresh_db_url, "auditor", "620121", name="backup_admin")
    before = table_fingerprints(source)
    assert before["audit_log"][0] >= 2 and before["users"][0] == 1 and before["events"][0] == 2

    from api.settings import get_settings

    dump = tmp_path / "gridgov.dump"
    monkeypatch.setenv("DATABASE_URL", _libpq(fresh_db_url))
    get_settings.cache_clear()
    assert gridgov(["backup", str(dump)]) == 0
    assert dump.stat().st_size > 0

    target_url = create_database(pg_server, "gridgov_restored")  # plain, empty: no PostGIS yet
    monkeypatch.setenv("DATABASE_URL", _libpq(target_url))
    get_settings.cache_clear()
    try:
        assert gridgov(["restore", str(dump)]) == 0
        target = create_engine(target_url)
        assert table_fingerprints(target) == before
        with target.connect() as conn:  # RLS and the app role came along
            assert conn.execute(text("SELECT relrowsecurity FROM pg_class WHERE relname = 'events'")).scalar()
        # a second restore into the now non-empty database is refused
        assert gridgov(["restore", str(dump)]) == 1
        target.dispose()
    finally:
        get_settings.cache_clear()
        source.dispose()


def test_restore_refuses_a_non_empty_database(fresh_db_url, tmp_path):
    from geo.db.backup import restore

    (tmp_path / "x.dump").write_bytes(b"x")
    with pytest.raises(ConflictError, match="empty database"):
        restore(_libpq(fresh_db_url), tmp_path / "x.dump")
