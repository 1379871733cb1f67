"""The app's pool pings a connection only after it sat idle, and replaces one that died meanwhile."""

import psycopg
import pytest
from sqlalchemy import create_engine, text

from geo.db.engine import make_engine
from geo.settings import DbSettings
from tests.apps import app_url


def _backend_pid(raw) -> int:  # noqa: ANN001
    cursor = raw.cursor()
    cursor.execute("SELECT pg_backend_pid()")
    return cursor.fetchone()[0]


@pytest.mark.parametrize(("idle_s", "replaced"), [(0.0, True), (3600.0, False)])
def test_an_idle_connection_is_pinged_and_a_dead_one_replaced(
    demo_db_url: str, idle_s: float, replaced: bool
) -> None:
    settings = DbSettings(_env_file=None, url=app_url(demo_db_url), pool_size=1, pool_ping_idle_s=idle_s)
    engine, owner = make_engine(settings), create_engine(demo_db_url)
    try:
        raw = engine.raw_connection()
        pid = _backend_pid(raw)
        raw.close()  # back to the pool, where its backend is ended
        with owner.connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:p, 5000)"), {"p": pid})
        raw = engine.raw_connection()
        try:
            if replaced:  # idle longer than idle_s: pinged at checkout, the dead one replaced unseen
                assert _backend_pid(raw) != pid
            else:  # used a moment ago: not pinged, so the request that gets it sees the failure
                with pytest.raises(psycopg.OperationalError):
                    _backend_pid(raw)
        finally:
            raw.invalidate()
    finally:
        engine.dispose()
        owner.dispose()
