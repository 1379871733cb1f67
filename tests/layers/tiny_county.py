"""A tiny hand-drawn county with known answers, for the layer, OGC and tile tests.

County 620121 is the square lon 103.0-103.4, lat 36.0-36.4 (WGS84). Two townships split it west/east
(001, 002), each has two villages south/north (001, 002), each village two small grids west/east
(001, 002): 8 small grids of 0.1 x 0.2 degrees. Every small grid gets 3 disputes, 2 hazards, 1 appeal,
a worker and (per township) a facility. A neighbouring county 620122 (lon 104.0-104.2) holds one grid
and one dispute that a user of 620121 must never see, and one dispute lies outside every grid.
"""

from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
DISPUTE_CATS = ("neighbour", "land_forest", "marriage_family")
HAZARD_CATS = ("fire", "building")
STATUSES = ("reported", "closed", "in_progress")
TOWNSHIP_NAMES = {"001": "城关镇", "002": "红城镇"}

_GRID = text("""
INSERT INTO grids (code, name, level, parent_id, geom, synthetic, valid_from)
VALUES (:code, :name, :level, :parent,
        ST_Multi(ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)), true, :epoch)
RETURNING id
""")
_EVENT = text("""
INSERT INTO events (kind, category, severity, status, title, source, reported_at, closed_at, geom, created_at)
VALUES (:kind, :cat, :sev, :status, :title, 'patrol', :at, :closed, ST_SetSRID(ST_MakePoint(:x, :y), 4326), :at)
RETURNING id
""")


def _grid(session: Session, code: str, name: str, level: str, parent: int | None, box: tuple) -> int:
    x0, y0, x1, y1 = box
    return session.execute(
        _GRID,
        {
            "code": code,
            "name": name,
            "level": level,
            "parent": parent,
            "x0": x0,
            "y0": y0,
            "x1": x1,
            "y1": y1,
            "epoch": EPOCH,
        },
    ).scalar_one()


def add_event(
    session: Session,
    kind: str,
    cat: str,
    x: float,
    y: float,
    *,
    sev: int = 2,
    status: str = "reported",
    at: datetime = EPOCH,
) -> int:
    """Insert one event (its grid is set by the trigger)."""
    closed = at + timedelta(days=1) if status == "closed" else None
    return session.execute(
        _EVENT,
        {
            "kind": kind,
            "cat": cat,
            "sev": sev,
            "status": status,
            "title": f"{cat} test",
            "at": at,
            "closed": closed,
            "x": x,
            "y": y,
        },
    ).scalar_one()


def _small_grid_events(session: Session, gi: int, box: tuple) -> None:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    at = EPOCH + timedelta(days=10 * gi)
    for j in range(3):
        add_event(
            session,
            "dispute",
            DISPUTE_CATS[j],
            cx + 0.01 * j,
            cy,
            sev=1 + (gi + j) % 4,
            status=STATUSES[j],
            at=at + timedelta(days=j),
        )
    for j in range(2):
        add_event(
            session, "hazard", HAZARD_CATS[j], cx, cy + 0.01 * (j + 1), sev=1 + j, status=STATUSES[j], at=at
        )
    add_event(session, "appeal", "public_service", cx - 0.01, cy - 0.01, at=at)


def _worker_and_grid(session: Session, grid_id: int, gi: int, box: tuple) -> None:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    wid = session.execute(
        text("""
        INSERT INTO workers (name, phone, home_grid_id, geom, located_at, available)
        VALUES (:name, '13800000000', :g, ST_SetSRID(ST_MakePoint(:x, :y), 4326), :at, :avail)
        RETURNING id"""),
        {
            "name": f"网格员{gi}",
            "g": grid_id,
            "x": cx + 0.005,
            "y": cy + 0.005,
            "at": EPOCH,
            "avail": gi % 2 == 0,
        },
    ).scalar_one()
    session.execute(text("UPDATE grids SET worker_id = :w WHERE id = :g"), {"w": wid, "g": grid_id})


def load_tiny_county(session: Session) -> None:
    """Insert the tiny county (does not commit)."""
    county = _grid(session, "620121000000000", "永登县", "county", None, (103.0, 36.0, 103.4, 36.4))
    gi = 0
    for ti, t in enumerate(("001", "002")):
        tx = 103.0 + 0.2 * ti
        town = _grid(
            session, f"620121{t}000000", TOWNSHIP_NAMES[t], "township", county, (tx, 36.0, tx + 0.2, 36.4)
        )
        for vi, v in enumerate(("001", "002")):
            vy = 36.0 + 0.2 * vi
            vil = _grid(
                session, f"620121{t}{v}000", f"村{t}{v}", "village", town, (tx, vy, tx + 0.2, vy + 0.2)
            )
            for si, s in enumerate(("001", "002")):
                box = (tx + 0.1 * si, vy, tx + 0.1 * si + 0.1, vy + 0.2)
                gid = _grid(session, f"620121{t}{v}{s}", f"网格{t}{v}{s}", "grid", vil, box)
                _small_grid_events(session, gi, box)
                _worker_and_grid(session, gid, gi, box)
                gi += 1
        session.execute(
            text("""INSERT INTO facilities (kind, name, geom)
            VALUES ('township_centre', :n, ST_SetSRID(ST_MakePoint(:x, 36.05), 4326))"""),
            {"n": TOWNSHIP_NAMES[t] + "综治中心", "x": tx + 0.05},
        )
    _neighbour_county(session)
    add_event(session, "dispute", "neighbour", 110.0, 30.0)  # outside every grid


def _neighbour_county(session: Session) -> None:
    box = (104.0, 36.0, 104.2, 36.2)
    c = _grid(session, "620122000000000", "皋兰县", "county", None, box)
    t = _grid(session, "620122001000000", "石洞镇", "township", c, box)
    v = _grid(session, "620122001001000", "村X", "village", t, box)
    _grid(session, "620122001001001", "网格X", "grid", v, box)
    add_event(session, "dispute", "neighbour", 104.1, 36.1)


# Known answers for area 620121.
SMALL_GRIDS = 8
DISPUTES = 24
HAZARDS = 16
APPEALS = 8


# --- fixtures (import them into a test module to use them) ------------------------------------

import pytest  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import create_engine  # noqa: E402

from layers.settings import LayerSettings  # noqa: E402


def load_into(url: str) -> None:
    """Load the tiny county into the database at `url`, grade its grids (the risk job) and commit."""
    from geo.analytics.risk import RiskSettings, grade_area

    engine = create_engine(url)
    with Session(engine) as session:
        load_tiny_county(session)
        grade_area(session, "620121", RiskSettings(_env_file=None))
        session.commit()
    engine.dispose()


@pytest.fixture(scope="session")
def tiny_db_url(pg_server: str, empty_db_url: str) -> str:
    """A database holding the tiny county (loaded once per session)."""
    from tests.conftest import create_database

    url = create_database(pg_server, "gridgov_tiny", template="gridgov_empty")
    load_into(url)
    return url


def make_client(url: str, **layer_settings: object) -> TestClient:
    """A TestClient on the app for the database at `url` (enter it with `with`)."""
    from tests.apps import app_for

    app = app_for(url, layers=LayerSettings(_env_file=None, **layer_settings))
    from tests.auth_helpers import authed

    return authed(TestClient(app), url)


@pytest.fixture(scope="module")
def tiny_client(tiny_db_url: str):
    """A client of the app on the tiny county (one per test module)."""
    with make_client(tiny_db_url) as client:
        yield client


@pytest.fixture
def live_county(fresh_db_url: str):
    """A fresh tiny county (its own database), a client of the app on it and an engine that commits:
    for caches, which must see what other connections commit."""
    load_into(fresh_db_url)
    engine = create_engine(fresh_db_url)
    with make_client(fresh_db_url) as client:
        yield client, engine
    engine.dispose()
