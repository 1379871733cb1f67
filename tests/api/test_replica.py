"""Reads from a real streaming replica (pg_basebackup -R, scripts/pgcluster.sh replica), and the writer
sees its own write on the next request.

The replica's replay is paused (pg_wal_replay_pause) to make the two servers differ on purpose: what a
read sees then says which server answered it.
"""

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from api.replica import LSN_COOKIE
from geo.db.migrate import upgrade
from geo.settings import DbSettings
from tests.apps import app_url, settings_for
from tests.auth_helpers import bearer
from tests.dispatch_tiny import build
from tests.waits import WAIT_S

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "pgcluster.sh"
REPORT = {"category": "neighbour", "severity": 2, "title": "副本测试", "lon": 103.0061, "lat": 36.0061}


def _cluster(*args: str) -> str:
    done = subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture(scope="module")
def servers():
    """(primary URL, replica URL): a primary with the tiny county and its hot standby."""
    folder = Path(tempfile.mkdtemp(prefix="gridgov-replica-"))
    folder.chmod(0o755)  # the clusters run as the postgres user when we are root
    primary = _cluster("start", str(folder / "primary"))  # durable settings: a base backup needs them
    engine = create_engine(primary)
    upgrade(engine, app_url=app_url(primary))  # the app's own login, replicated with the rest
    with engine.begin() as conn:
        build(conn)
    engine.dispose()
    replica = _cluster("replica", str(folder / "replica"), str(folder / "primary"))
    try:
        yield primary, replica
    finally:
        for name in ("replica", "primary"):
            subprocess.run(["bash", str(SCRIPT), "stop", str(folder / name)], check=False)
        shutil.rmtree(folder, ignore_errors=True)


def _sql(url: str, sql: str, **params):
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()
    finally:
        engine.dispose()


def _caught_up(primary: str, replica: str) -> None:
    lsn = _sql(primary, "SELECT pg_current_wal_lsn()::text")
    deadline = time.monotonic() + WAIT_S
    while not _sql(replica, "SELECT pg_last_wal_replay_lsn() >= CAST(:l AS pg_lsn)", l=lsn):
        assert time.monotonic() < deadline, "the replica did not catch up"
        time.sleep(0.1)


@pytest.fixture
def app(servers):
    primary, replica = servers
    _sql(replica, "SELECT pg_wal_replay_resume()")
    _caught_up(primary, replica)
    db = DbSettings(
        _env_file=None, url=app_url(primary), owner_url=primary, replica_url=app_url(replica), pool_size=2
    )
    from api.main import create_app

    return create_app(settings_for(primary).but(db=db))


def _titles(client) -> list[str]:
    r = client.get("/api/summary/open-events")
    assert r.status_code == 200, r.text
    return [e["id"] for e in r.json()]


def test_the_replica_is_a_hot_standby(servers):
    assert _sql(servers[1], "SELECT pg_is_in_recovery()") is True
    assert _sql(servers[0], "SELECT pg_is_in_recovery()") is False


def test_reads_go_to_the_replica_and_the_writer_reads_its_own_write(servers, app):
    primary, replica = servers
    # A grid worker reports and reads again (uncleared: reads go to the replica, unless after its own
    # write); a planner of the county reads meanwhile. (Cleared roles always read the primary: the next test.)
    owner = _sql(primary, "SELECT worker_id FROM grids WHERE code = '620121001001001'")
    headers = bearer(primary, "grid_worker", "620121001001", worker_id=owner)
    reading = bearer(primary, "planner", "620121")
    _caught_up(primary, replica)  # the accounts above
    _sql(replica, "SELECT pg_wal_replay_pause()")
    with TestClient(app, headers=headers) as writer, TestClient(app, headers=reading) as reader:
        before = _titles(reader)
        made = writer.post("/api/events", json=REPORT)
        assert made.status_code == 201, made.text
        assert LSN_COOKIE in writer.cookies, "a write hands its writer the primary's position"
        new_id = made.json()["id"]
        assert new_id in _titles(writer), "the writer's next read sees its write (from the primary)"
        assert new_id not in _titles(reader) and _titles(reader) == before, "others read the paused replica"
        assert writer.get(f"/api/events/{new_id}").status_code == 200
        _sql(replica, "SELECT pg_wal_replay_resume()")
        _caught_up(primary, replica)
        assert new_id in _titles(reader), "and once the replica has replayed it, everyone sees it"


def test_an_account_the_replica_has_not_seen_is_checked_on_the_primary(servers, app):
    primary, replica = servers
    _sql(replica, "SELECT pg_wal_replay_pause()")
    headers = bearer(primary, "planner", "620121001")  # made on the primary only
    with TestClient(app, headers=headers) as client:
        r = client.get("/api/summary")
        assert r.status_code == 200, r.text
        assert r.json()["area"] == "620121001"


def test_a_cleared_roles_reads_write_their_audit_row_on_the_primary(servers, app):
    primary, replica = servers
    headers = bearer(primary, "commander", "620121")
    _caught_up(primary, replica)
    _sql(replica, "SELECT pg_wal_replay_pause()")  # a read of the replica could write nothing
    event = _sql(primary, "SELECT min(id) FROM events WHERE grid_code LIKE '620121%'")
    audited = "SELECT count(*) FROM audit_log WHERE action = 'read_personal'"
    before = _sql(primary, audited)
    with TestClient(app, headers=headers) as client:
        for path in (f"/api/events/{event}/candidates", f"/api/events/{event}/parties"):
            r = client.get(path)
            assert r.status_code == 200, (path, r.text)
    assert _sql(primary, audited) >= before + 1
