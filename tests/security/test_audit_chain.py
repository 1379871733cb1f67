"""The tamper-evident audit log: rows chained by SHA-256, `gridgov audit verify` names the first broken
link (a changed, removed or appended-behind-its-back row); nobody updates audit rows, and none younger
than 180 days goes, even for the owner."""

from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from geo import audit
from tests.security.conftest import account, client_from, login_as


def _verify(monkeypatch, db, capsys) -> tuple[int, str]:
    from api.settings import get_settings
    from cli.main import main

    monkeypatch.setenv("DATABASE_URL", db.url)
    get_settings.cache_clear()
    try:
        code = main(["audit", "verify"])
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.fixture(scope="module")
def logged(sec, sec_app):
    """A few audit rows written by the app: logins, a failure, a logout."""
    name = account(sec, "planner", "chained")
    with client_from(sec_app) as client:
        login_as(client, name)
        login_as(client, name, "wrong-password")
        token = login_as(client, name).json()["access_token"]
        client.post("/api/auth/logout", headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def chain(fresh_db_url):
    """A database of its own with seven chained audit rows (each test tampers with its own)."""
    engine = create_engine(fresh_db_url)
    with Session(engine) as session:
        for n in range(7):
            audit.record(
                session,
                "cli:t",
                "test",
                table="events",
                target=n,
                detail={"n": n, "note": "含'引号'与\\反斜杠"},
            )
        session.commit()
    yield SimpleNamespace(url=fresh_db_url, engine=engine)
    engine.dispose()


def _tamper(db, sql: str) -> None:
    """Change the log as a superuser who switches the guard triggers off (what the hashes are for)."""
    with db.engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(sql))


def _middle(db) -> int:
    with db.engine.connect() as conn:
        return conn.execute(text("SELECT (min(seq) + max(seq)) / 2 FROM audit_log")).scalar()


def test_the_apps_rows_chain_and_verify(sec, logged, monkeypatch, capsys):
    code, out = _verify(monkeypatch, sec, capsys)
    assert code == 0 and "audit chain intact" in out
    with sec.engine.connect() as conn:
        report = audit.verify_chain(conn)
        n = conn.execute(text("SELECT count(*) FROM audit_log")).scalar()
    assert report.intact and report.rows == n >= 4


def test_a_changed_row_is_named(chain, monkeypatch, capsys):
    assert _verify(monkeypatch, chain, capsys)[0] == 0
    seq = _middle(chain)
    _tamper(chain, f"UPDATE audit_log SET detail = detail || '{{\"n\": 99}}' WHERE seq = {seq}")
    code, out = _verify(monkeypatch, chain, capsys)
    assert code == 1 and f"BROKEN at seq {seq}" in out and "被改动" in out


def test_a_replaced_row_is_named_by_its_successor(chain, monkeypatch, capsys):
    seq = _middle(chain)  # rewritten with a consistent hash of its own: the next row's link fails
    _tamper(
        chain,
        f"UPDATE audit_log a SET actor = 'forger', hash = gridgov_audit_hash(a.prev_hash, gridgov_audit_text((a.id, a.at, 'forger', a.action, a.target_table, a.target_id, a.before, a.after, a.detail, a.seq, a.prev_hash, a.hash)::audit_log)) WHERE seq = {seq}",
    )
    code, out = _verify(monkeypatch, chain, capsys)
    assert code == 1 and f"BROKEN at seq {seq + 1}" in out and "链接不符" in out


def test_a_removed_row_is_named(chain, monkeypatch, capsys):
    seq = _middle(chain)
    _tamper(chain, f"DELETE FROM audit_log WHERE seq = {seq}")
    code, out = _verify(monkeypatch, chain, capsys)
    assert code == 1 and f"第 {seq} 条审计记录缺失" in out


def test_a_removed_last_row_is_seen_against_the_head(chain, monkeypatch, capsys):
    _tamper(chain, "DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)")
    code, out = _verify(monkeypatch, chain, capsys)
    assert code == 1 and "末尾记录被删除" in out


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log"]
)
def test_even_the_owner_may_not_change_or_remove_recent_rows(chain, statement):
    with chain.engine.connect() as conn, pytest.raises(DBAPIError, match="never changed"):
        conn.execute(text(statement))


def test_purging_keeps_at_least_180_days_and_the_chain_stays_verifiable(chain):
    with chain.engine.connect() as conn:
        with pytest.raises(Exception, match="180"):
            audit.purge(conn, 179, "cli:t")
        with pytest.raises(DBAPIError, match="180"):
            conn.execute(text("SELECT gridgov_audit_purge(30, 'cli:t')"))
        conn.rollback()
    # the first two rows are made 200 days old (and re-chained, as if written then)
    _tamper(chain, "UPDATE audit_log SET at = at - interval '200 days' WHERE seq <= 2")
    _rechain(chain)
    with chain.engine.begin() as conn:
        assert audit.purge(conn, 180, "cli:t") == 2
    with chain.engine.connect() as conn:
        report = audit.verify_chain(conn)
    assert report.intact and report.first_seq == 3, report


def _rechain(db) -> None:
    with db.engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        rows = conn.execute(text("SELECT seq FROM audit_log ORDER BY seq")).scalars().all()
        prev = audit.GENESIS
        for seq in rows:
            conn.execute(text("UPDATE audit_log a SET prev_hash = :p WHERE seq = :s"), {"p": prev, "s": seq})
            prev = conn.execute(
                text(
                    "UPDATE audit_log a SET hash = gridgov_audit_hash(a.prev_hash, gridgov_audit_text(a)) WHERE seq = :s RETURNING hash"
                ),
                {"s": seq},
            ).scalar_one()
        conn.execute(text("UPDATE audit_chain SET last_hash = :h"), {"h": prev})
