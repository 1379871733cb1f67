"""What the field-work browser tests (tests/api/test_field_browser*.py) share: a committed copy of the demo
county with its demo accounts, the app served on it, one Chromium, the grid worker's patrol, the phone's
viewport and the morning they walk. Fixtures field_db, field_engine, base_url, browser and patrol: import
the `*_fixture` functions (module-scoped: each test module gets its own copy)."""

from datetime import datetime

import pytest
from sqlalchemy import create_engine, text

from tests.api.console_fixtures import copy_demo_with_accounts
from tests.apps import app_for
from tests.browser import chromium, serve_app

PHONE = {"width": 390, "height": 844}
START = datetime.fromisoformat("2026-11-28T09:00:00+08:00")  # a morning after the demo year, the 28th


@pytest.fixture(scope="module", name="field_db")
def field_db_fixture(pg_server, engine) -> str:
    """A committed copy of the demo county with its demo accounts."""
    return copy_demo_with_accounts(pg_server, engine, "field_b_demo")


@pytest.fixture(scope="module", name="field_engine")
def field_engine_fixture(field_db):
    """An engine on the copy."""
    eng = create_engine(field_db)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module", name="base_url")
def base_url_fixture(field_db):
    """The app on the copy, served on loopback."""
    with serve_app(app_for(field_db)) as url:
        yield url


@pytest.fixture(scope="module", name="browser")
def browser_fixture():
    """One Chromium for the module."""
    with chromium() as b:
        yield b


@pytest.fixture(scope="module", name="patrol")
def patrol_fixture(field_engine) -> dict:
    """The gridworker's worker, their grid, and points walking east across its middle (WGS84)."""
    with field_engine.connect() as conn:
        row = (
            conn.execute(
                text(
                    "SELECT w.id, w.home_grid_code AS grid, ST_XMin(b) AS x0, ST_XMax(b) AS x1, ST_Y(c) AS lat, ST_X(c) AS lon "
                    "FROM users u JOIN workers w ON w.id = u.worker_id JOIN grids g ON g.id = w.home_grid_id, "
                    "LATERAL (SELECT ST_Envelope(g.geom) AS b, ST_PointOnSurface(g.geom) AS c) s WHERE u.name = 'gridworker'"
                )
            )
            .mappings()
            .one()
        )
    step = 0.0004  # ~36 m a step: more than the 30 m that count as moving
    assert 8 * step < row["x1"] - row["x0"]  # the walk stays inside the grid
    return {**row, "points": [(row["lon"] + step * i, row["lat"]) for i in range(-3, 5)]}
