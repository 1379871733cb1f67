"""The app's pool pings a connection only after it sat idle, and replaces one that died meanwhile."""

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from geo.db.engine import make_engine
from geo.settings import DbSettings
from tests.apps import app_url


def _pid_then_kill(engine, owner) -> int:  # noqa: ANN001
    """A backend pid served by the pool, terminated after its connection went back to the pool."""
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    with owner.connect() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:p, 5000)"), {"p": pid})
    return pid


@pytest.mark.parametrize(("idle_s", "replaced"), [(0.0, True), (3600.0, False)])
def test_an_idle_connection_is_pinged_and_a_dead_one_replaced(
    demo_db_url: str, idle_s: float, replaced: bool
) -> None:
    settings = DbSettings(_env_file=None, url=app_url(demo_db_url), pool_size=1, pool_ping_idle_s=idle_s)
    engine, owner = make_engine(settings), create_engine(demo_db_url)
    try:
        pid = _pid_then_kill(engine, owner)
        if replaced:  # idle longer than idle_s: pinged at checkout, the dead one replaced unseen
            with engine.connect() as conn:
                assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
        else:  # used a moment ago: not pinged, so the request that gets it sees the failure
            with pytest.raises(OperationalError), engine.connect() as conn:
                conn.execute(text("SELECT 1"))
    finally:
        engine.dispose()
        owner.dispose()
