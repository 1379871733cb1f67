"""A sync route ends its request's transaction in its own thread (api.routing.ReadRoute): the session's
end makes no second hop into the thread pool, and a cleared reader's audit row is still written."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

import api.deps
from tests.apps import app_for
from tests.auth_helpers import authed

TILE = "/tiles/grids/12/3222/1598.mvt"  # Yongdeng's grids, with their workers' names from zoom 12


def _audit_rows(url: str, actor: str) -> int:
    with create_engine(url).connect() as conn:  # the owner's: the audit log is not the app's to read
        sql = "SELECT count(*) FROM audit_log WHERE actor = :a AND action = 'read_personal'"
        return conn.execute(text(sql), {"a": actor}).scalar_one()


@pytest.mark.parametrize("role", ["commander", "planner"])
def test_a_tile_ends_its_transaction_in_the_routes_thread(demo_db_url, monkeypatch, role):
    hops: list[str] = []
    pooled = api.deps.run_in_threadpool

    async def counted(fn, *args, **kwargs):
        hops.append(getattr(fn, "__qualname__", repr(fn)))
        return await pooled(fn, *args, **kwargs)

    monkeypatch.setattr(api.deps, "run_in_threadpool", counted)
    with TestClient(app_for(demo_db_url)) as client:
        authed(client, demo_db_url, role, name=f"routing_{role}")
        assert client.get(TILE).status_code == 200  # the first also moves the session's last_seen_at
        before = _audit_rows(demo_db_url, f"routing_{role}")
        hops.clear()
        assert client.get(TILE).status_code == 200
    assert hops == []  # neither a commit nor a rollback left for the dependencies
    expected = 1 if role == "commander" else 0  # a commander reads the workers' names unmasked
    assert _audit_rows(demo_db_url, f"routing_{role}") - before == expected
