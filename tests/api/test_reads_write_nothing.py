"""No GET request writes an analysis: every GET route of the app, as a county commander (cleared: its
reads of personal data are audited, which is the one write a read may make) and as a province account,
leaves the analysis tables, the job queue and the roll-ups exactly as they were (row versions compared).
The database holds it too: the app role may not write the analysis tables (migration 0062)."""

import math

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from tests.apps import app_for
from tests.auth_helpers import authed

TABLES = (
    "analytics_runs",
    "hotspot_cells",
    "emerging_cells",
    "chronic_groups",
    "report_drafts",
    "risk_grades",
    "reports",
    "jobs",
    "job_schedules",
    "grid_days",
    "grid_totals",
)
SKIP = {"/api/live"}  # a stream that never ends; it reads nothing but NOTIFY payloads


def _snapshot(url: str) -> dict:
    engine = create_engine(url)
    with engine.connect() as conn:
        out = {
            t: tuple(
                conn.execute(
                    text(
                        f"SELECT count(*), md5(coalesce(string_agg(xmin::text || ctid::text, ',' ORDER BY ctid), '')) "
                        f"FROM {t}"
                    )
                ).one()
            )
            for t in TABLES
        }
    engine.dispose()
    return out


def _tile(lon: float, lat: float, z: int) -> str:
    x = int((lon + 180) / 360 * 2**z)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2**z)
    return f"{z}/{x}/{y}"


def _values(url: str) -> dict:
    engine = create_engine(url)
    with engine.connect() as conn:
        event = conn.execute(
            text("SELECT id FROM events WHERE status = 'dispatched' ORDER BY id LIMIT 1")
        ).scalar()
        worker = conn.execute(text("SELECT id FROM workers ORDER BY id LIMIT 1")).scalar()
        lon, lat = conn.execute(
            text("SELECT ST_X(geom), ST_Y(geom) FROM events WHERE id = :i"), {"i": event}
        ).one()
    engine.dispose()
    return {"event_id": event, "worker_id": worker, "tile": _tile(lon, lat, 12)}


def _paths(app, registry_ids: list[str], v: dict) -> list[str]:
    contexts = [
        c for r in app.routes if hasattr(r, "effective_route_contexts") for c in r.effective_route_contexts()
    ]
    paths = []
    for c in contexts:
        if "GET" not in c.methods or c.path in SKIP:
            continue
        p = c.path.replace("{event_id}", str(v["event_id"])).replace("{worker_id}", str(v["worker_id"]))
        p = p.replace("{photo_id}", "1").replace("{view}", "commander").replace("{z}/{x}/{y}", v["tile"])
        if "{period}" in p:
            paths += [p.replace("{period}", k) for k in ("daily", "weekly", "monthly", "quarterly")]
            paths.append(p.replace("{period}", "monthly") + "?format=html")
        elif "{name}" in p:
            paths += [p.replace("{name}", n) for n in ("disputes.geojson", "grids.csv")]
        elif "{layer_id}" in p:
            paths += [p.replace("{layer_id}", layer).replace("{feature_id}", "1") for layer in registry_ids]
        else:
            paths.append(p)
    return paths + ["/api/hotspots?unit=hex", "/api/hotspots?level=township", "/maps/hotspots?unit=hex"]


@pytest.mark.parametrize(("role", "area"), [("commander", "620121"), ("commander", "62")])
def test_no_get_request_writes_an_analysis(demo_db_url, role, area):
    app = app_for(demo_db_url)
    before = _snapshot(demo_db_url)
    with TestClient(app) as raw:
        client = authed(raw, demo_db_url, role, area)
        paths = _paths(app, app.state.registry.ids(), _values(demo_db_url))
        assert len(paths) > 60
        statuses = {p: client.get(p).status_code for p in paths}
    assert [p for p, s in statuses.items() if s >= 500] == []
    assert sum(s == 200 for s in statuses.values()) > 40
    assert _snapshot(demo_db_url) == before


def test_the_app_role_may_not_write_analyses(db_session):
    db_session.execute(text("SET LOCAL ROLE gridgov_app"))
    for table in (
        "analytics_runs",
        "hotspot_cells",
        "emerging_cells",
        "chronic_groups",
        "report_drafts",
        "risk_grades",
    ):
        allowed = db_session.execute(
            text(
                "SELECT has_table_privilege('gridgov_app', :t, 'INSERT') OR has_table_privilege('gridgov_app', :t, 'DELETE')"
            ),
            {"t": table},
        ).scalar()
        assert not allowed, table
