"""A township dispatcher tries every route against another township's cases: nothing leaks, not even counts.

The user is a dispatcher of 620121001 (城关镇) on the demo county; the target is a case of 620121002.
Counts the app reports (numberMatched, tile features, heat totals) must equal the township's own totals.
Then the database alone: as gridgov_app with the area set, the tables hold only the township's rows.
"""

import re

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.apps import app_for
from tests.auth_helpers import authed

OWN = "620121001"
OTHER = "620121002"


@pytest.fixture(scope="module")
def client(demo_db_url):
    app = app_for(demo_db_url)
    with TestClient(app) as c:
        yield authed(c, demo_db_url, role="dispatcher", area=OWN)


@pytest.fixture(scope="module")
def facts(engine):
    with engine.connect() as conn:
        q = lambda sql, **p: conn.execute(text(sql), p).scalar()  # noqa: E731
        return {
            "other_event": q(
                "SELECT e.id FROM events e WHERE e.grid_code LIKE :o AND e.status IN ('reported','registered') "
                "AND EXISTS (SELECT 1 FROM parties p WHERE p.event_id = e.id) ORDER BY e.id LIMIT 1",
                o=OTHER + "%",
            ),
            "other_worker": q(
                "SELECT id FROM workers WHERE home_grid_code LIKE :o ORDER BY id LIMIT 1", o=OTHER + "%"
            ),
            "other_whistle": q(
                "SELECT w.id FROM whistles w JOIN events e ON e.id = w.event_id WHERE e.grid_code LIKE :o LIMIT 1",
                o=OTHER + "%",
            ),
            "department": q("SELECT id FROM departments ORDER BY id LIMIT 1"),
            "other_township_name": q("SELECT name FROM grids WHERE code = :c", c=OTHER + "000000"),
            "own_disputes": q(
                "SELECT count(*) FROM events WHERE kind = 'dispute' AND grid_code LIKE :a", a=OWN + "%"
            ),
            "own_workers": q(
                "SELECT count(*) FROM workers WHERE geom IS NOT NULL AND home_grid_code LIKE :a", a=OWN + "%"
            ),
            "other_point": conn.execute(
                text("SELECT ST_X(geom), ST_Y(geom) FROM events WHERE grid_code LIKE :o LIMIT 1"),
                {"o": OTHER + "%"},
            ).one(),
            "log_rows": q("SELECT count(*) FROM event_log"),
            "audit_rows": q("SELECT count(*) FROM audit_log"),
        }


def _problem(resp, status):
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    return resp.json()


def test_reads_of_another_townships_case_are_not_found(client, facts):
    eid = facts["other_event"]
    for path in ("", "/timeline", "/candidates", "/parties"):
        _problem(client.get(f"/api/events/{eid}{path}"), 404)
    _problem(client.get(f"/ogc/collections/disputes/items/{eid}"), 404)
    _problem(client.get(f"/api/workers/{facts['other_worker']}"), 404)


@pytest.mark.parametrize(
    "path, body",
    [
        ("assign", {"worker_id": 1}),
        ("transition", {"to": "registered"}),
        ("escalate", {}),
        ("refer", {"to": "court"}),
        ("whistle", {"department_id": 1}),
        ("extend", {"hours": 5, "reason": "x"}),
        ("suspend", {"reason": "x"}),
        ("resume", {}),
    ],
)
def test_writes_to_another_townships_case_are_not_found_and_write_nothing(client, facts, engine, path, body):
    eid = facts["other_event"]
    if path == "whistle":
        body = {"department_id": facts["department"]}
    _problem(client.post(f"/api/events/{eid}/{path}", json=body), 404)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM event_log")).scalar() == facts["log_rows"]


def test_worker_and_whistle_writes_outside_the_area_are_not_found(client, facts):
    wid = facts["other_worker"]
    lon, lat = facts["other_point"]
    _problem(client.post(f"/api/workers/{wid}/location", json={"lon": lon, "lat": lat}), 404)
    _problem(client.patch(f"/api/workers/{wid}", json={"available": False}), 404)
    if facts["other_whistle"]:
        _problem(client.post(f"/api/whistles/{facts['other_whistle']}/response", json={"response": "x"}), 404)


def test_report_in_another_township_is_refused(client, facts):
    lon, lat = facts["other_point"]
    body = {"category": "neighbour", "severity": 2, "lon": lon, "lat": lat}
    assert _problem(client.post("/api/events", json=body), 422)["code"] == "outside_county"


def test_feature_counts_are_the_townships_own(client, facts):
    body = client.get("/ogc/collections/disputes/items?limit=1").json()
    assert body["numberMatched"] == facts["own_disputes"]
    other = client.get("/ogc/collections/disputes/items", params={"township": facts["other_township_name"]})
    assert other.json()["numberMatched"] == 0 and other.json()["features"] == []
    workers = client.get("/ogc/collections/workers/items?limit=1").json()
    assert workers["numberMatched"] == facts["own_workers"]
    grids = client.get("/ogc/collections/grids/items?limit=1000").json()
    assert grids["features"] and all(
        f["properties"]["code"].startswith("620121-001-") for f in grids["features"]
    )


def test_tile_counts_are_the_townships_own(client, facts):
    # z=7 aggregates points into cells with `count`; the county fits in one or two tiles.
    total = 0
    for x in (99, 100, 101):
        for y in (48, 49, 50, 51):
            r = client.get(f"/tiles/disputes/7/{x}/{y}.mvt")
            assert r.status_code in (200, 204), r.text
            if r.status_code == 200:
                tile = mapbox_vector_tile.decode(r.content)
                total += sum(f["properties"]["count"] for f in tile["disputes"]["features"])
    assert total == facts["own_disputes"]


def test_heatmap_total_is_the_townships_own(client, facts):
    html = client.get("/maps/heatmap?layer=disputes").text
    assert int(re.search(r"共 (\d+) 件", html).group(1)) == facts["own_disputes"]


def test_map_pages_show_only_the_township(client, facts):
    for path in ("/maps/county", "/maps/risk"):
        html = client.get(path).text
        codes = set(re.findall(r"620121-(\d{3})-\d{3}-\d{3}", html))
        assert codes <= {"001"}, (path, codes)


def test_lists_board_and_overdue_hold_only_the_township(client):
    for path in ("/api/events/overdue", "/api/events/due-soon?hours=720", "/api/grids/overdue"):
        rows = client.get(path).json()
        assert all(r["grid_code"].startswith(OWN) for r in rows), path
    board = client.get("/api/board").json()
    assert all(q["grid_code"].startswith(OWN) for q in board["queue"])
    assert all(w["grid_code"].startswith(OWN) for w in board["workers"])
    assert all(g["grid_code"].startswith(OWN) for g in board["overdue_by_grid"])


def test_collections_extent_is_the_townships(client, engine):
    with engine.connect() as conn:
        own = conn.execute(
            text(
                "SELECT ST_XMin(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM grids "
                "WHERE valid_to IS NULL AND code LIKE :a) x"
            ),
            {"a": OWN + "%"},
        ).one()
    bbox = client.get("/ogc/collections/disputes").json()["extent"]["spatial"]["bbox"][0]
    assert bbox[0] == pytest.approx(own[0], abs=1e-5) and bbox[3] == pytest.approx(own[1], abs=1e-5)


def test_the_database_alone_keeps_the_app_role_in_its_area(engine):
    with engine.connect() as conn:
        own = {
            t: conn.execute(text(sql), {"a": OWN + "%"}).scalar()
            for t, sql in {
                "events": "SELECT count(*) FROM events WHERE grid_code LIKE :a",
                "parties": "SELECT count(*) FROM parties p JOIN events e ON e.id = p.event_id "
                "WHERE e.grid_code LIKE :a",
                "workers": "SELECT count(*) FROM workers WHERE home_grid_code LIKE :a",
                "event_log": "SELECT count(*) FROM event_log l JOIN events e ON e.id = l.event_id "
                "WHERE e.grid_code LIKE :a",
                "facilities": "SELECT count(*) FROM facilities WHERE grid_code LIKE :a",
            }.items()
        }
        conn.rollback()
        with conn.begin():
            conn.execute(text("SELECT set_config('gridgov.area', :a, true)"), {"a": OWN})
            conn.execute(text("SET LOCAL ROLE gridgov_app"))
            for table, count in own.items():
                assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == count, table
            grids = conn.execute(
                text("SELECT DISTINCT left(code, 9) FROM grids WHERE level = 'grid'")
            ).scalars()
            assert set(grids) == {OWN}
            areas = conn.execute(text("SELECT DISTINCT left(area, 9) FROM users")).scalars().all()
            assert set(areas) <= {OWN}  # accounts of the area only (its administrators manage them) ...
            with pytest.raises(Exception, match="permission denied"):
                conn.execute(text("SELECT password_hash FROM users"))  # ... and never their hashes


def test_the_app_role_without_an_area_sees_nothing(engine):
    with engine.connect() as conn, conn.begin():
        conn.execute(text("SET LOCAL ROLE gridgov_app"))
        assert conn.execute(text("SELECT count(*) FROM events")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM workers")).scalar() == 0


@pytest.mark.parametrize(
    "path",
    [
        "/api/hotspots",
        "/api/risk/lists",
        "/api/chronic",
        "/maps/hotspots",
        "/maps/emerging",
        "/api/reports/weekly",
    ],
)
def test_analytics_and_reports_show_only_the_township(client, path):
    resp = client.get(path)
    assert resp.status_code < 500, resp.text[:500]
    body = resp.text
    codes = set(re.findall(r"620121(\d{3})\d{6}\b", body)) | set(re.findall(r"620121-(\d{3})-", body))
    assert codes <= {"001", "000"}, (path, sorted(codes)[:10])


def test_reports_of_another_township_are_refused(client):
    resp = client.get("/api/reports/weekly", params={"area": OTHER})
    assert 400 <= resp.status_code < 500, resp.text[:300]
