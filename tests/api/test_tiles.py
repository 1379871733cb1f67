"""Vector tiles over HTTP: decoded features and attributes, empty tiles, ETags, bad indices."""

import math

import mapbox_vector_tile
import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from tests.layers import tiny_county as tc
from tests.layers.tiny_county import load_into, make_client, tiny_client, tiny_db_url  # noqa: F401

MVT = "application/vnd.mapbox-vector-tile"


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    """The XYZ tile holding a WGS84 point."""
    n = 2**z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return z, int((lon + 180) / 360 * n), int(y)


def _get(client, layer_id, lon, lat, z, **kw):
    z, x, y = tile_of(lon, lat, z)
    return client.get(f"/tiles/{layer_id}/{z}/{x}/{y}.mvt", **kw)


def test_grid_tile_has_features_and_attributes(tiny_client):  # noqa: F811
    resp = _get(tiny_client, "grids", 103.2, 36.2, 10)
    assert resp.status_code == 200 and resp.headers["content-type"] == MVT
    layer = mapbox_vector_tile.decode(resp.content)["grids"]
    assert len(layer["features"]) == tc.SMALL_GRIDS
    props = {f["properties"]["code"]: f["properties"] for f in layer["features"]}
    assert props["620121-001-001-001"]["township"] == "城关镇"
    assert props["620121-001-001-001"]["worker"] == "网格员0"
    assert resp.headers["x-tile-features"] == str(tc.SMALL_GRIDS)
    assert "x-tile-truncated" not in resp.headers


def test_grid_tiles_below_the_detail_zoom_carry_only_the_overview_fields(tiny_client):  # noqa: F811
    features = mapbox_vector_tile.decode(_get(tiny_client, "grids", 103.2, 36.2, 9).content)["grids"][
        "features"
    ]
    assert len(features) == tc.SMALL_GRIDS  # every grid is still drawn
    assert {tuple(sorted(f["properties"])) for f in features} == {("code", "township")}
    meta = tiny_client.get("/tiles/grids.json").json()["gridgov"]
    assert meta["overview_fields_below_zoom"] == 10 and meta["overview_fields"] == ["code", "township"]
    assert tiny_client.get("/tiles/townships.json").json()["gridgov"]["overview_fields"] is None


def test_event_tile_at_high_zoom_has_case_attributes(tiny_client):  # noqa: F811
    resp = _get(tiny_client, "disputes", 103.05, 36.1, 13)
    features = mapbox_vector_tile.decode(resp.content)["disputes"]["features"]
    assert {f["properties"]["category"] for f in features} >= {"neighbour"}
    assert all("name" not in f["properties"] and "phone" not in f["properties"] for f in features)
    assert resp.headers["x-tile-aggregated"] == "false"


def test_points_are_aggregated_at_low_zoom(tiny_client):  # noqa: F811
    resp = _get(tiny_client, "disputes", 103.2, 36.2, 6)
    assert resp.headers["x-tile-aggregated"] == "true"
    features = mapbox_vector_tile.decode(resp.content)["disputes"]["features"]
    assert sum(f["properties"]["count"] for f in features) == tc.DISPUTES
    assert len(features) < tc.DISPUTES


def test_risk_tile_carries_grade(tiny_client):  # noqa: F811
    features = mapbox_vector_tile.decode(_get(tiny_client, "risk", 103.2, 36.2, 9).content)["risk"][
        "features"
    ]
    assert {f["properties"]["grade"] for f in features} <= {"red", "yellow", "green"} and features


def test_empty_tile_is_204(tiny_client):  # noqa: F811
    assert _get(tiny_client, "grids", 10.0, 50.0, 10).status_code == 204
    assert _get(tiny_client, "grids", 103.2, 36.2, 3).status_code == 204  # below the layer's min zoom


def test_cap_is_reported_never_silent(tiny_db_url):  # noqa: F811
    with make_client(tiny_db_url, max_features_per_tile=3) as client:
        resp = _get(client, "grids", 103.2, 36.2, 8)
    assert resp.headers["x-tile-truncated"].startswith("true")
    assert len(mapbox_vector_tile.decode(resp.content)["grids"]["features"]) == 3


def test_etag_gives_304_when_unchanged(tiny_client):  # noqa: F811
    first = _get(tiny_client, "grids", 103.2, 36.2, 8)
    etag = first.headers["etag"]
    assert first.headers["cache-control"].startswith("private")
    again = _get(tiny_client, "grids", 103.2, 36.2, 8, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["etag"] == etag and again.content == b""


def test_etag_changes_when_an_event_is_added_under_the_tile(fresh_db_url):
    """At z12 (points) and z6 (aggregated from the pre-computed cells, migration 0013)."""
    load_into(fresh_db_url)
    with make_client(fresh_db_url) as client:
        before = {z: _get(client, "disputes", 103.05, 36.1, z) for z in (12, 6)}
        engine = create_engine(fresh_db_url)
        with Session(engine) as session:
            tc.add_event(session, "dispute", "neighbour", 103.0501, 36.1001)
            session.commit()
        engine.dispose()
        after = {
            z: _get(client, "disputes", 103.05, 36.1, z, headers={"If-None-Match": r.headers["etag"]})
            for z, r in before.items()
        }
    for z in (12, 6):
        assert after[z].status_code == 200 and after[z].headers["etag"] != before[z].headers["etag"]
    n_before = len(mapbox_vector_tile.decode(before[12].content)["disputes"]["features"])
    assert len(mapbox_vector_tile.decode(after[12].content)["disputes"]["features"]) == n_before + 1
    counts = [
        sum(f["properties"]["count"] for f in mapbox_vector_tile.decode(r[6].content)["disputes"]["features"])
        for r in (before, after)
    ]
    assert counts[1] == counts[0] + 1


def test_tilejson(tiny_client):  # noqa: F811
    body = tiny_client.get("/tiles/disputes.json", params={"status": "closed"}).json()
    assert body["tilejson"] == "3.0.0"
    assert body["tiles"][0].endswith("/tiles/disputes/{z}/{x}/{y}.mvt?status=closed")
    assert body["vector_layers"][0]["id"] == "disputes"
    assert "category" in body["vector_layers"][0]["fields"]


@pytest.mark.parametrize(
    ("url", "status", "code"),
    [
        ("/tiles/nope/1/0/0.mvt", 404, "layer_not_found"),
        ("/tiles/nope.json", 404, "layer_not_found"),
        ("/tiles/grids/23/0/0.mvt", 400, "invalid_tile"),
        ("/tiles/grids/2/4/0.mvt", 400, "invalid_tile"),
        ("/tiles/grids/2/0/-1.mvt", 400, "invalid_tile"),
        ("/tiles/grids/a/0/0.mvt", 400, "invalid_tile"),
        ("/tiles/grids/8/1/1.mvt?colour=red", 400, "unknown_filter"),
    ],
)
def test_bad_tile_requests_are_problem_json(tiny_client, url, status, code):  # noqa: F811
    resp = tiny_client.get(url)
    assert resp.status_code == status
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["code"] == code
