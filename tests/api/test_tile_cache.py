"""The server's tile cache (layers.tile_cache) over HTTP: reused while the layer's data is unchanged,
recomputed as soon as anything it shows changes, kept apart by clearance, never for clock-driven layers.

On a fresh tiny county with real commits (the cache must see what other connections commit).
"""

import mapbox_vector_tile
from sqlalchemy import text

from tests.api.test_tiles import _get
from tests.auth_helpers import authed
from tests.layers import tiny_county as tc
from tests.layers.tiny_county import live_county  # noqa: F401


def _features(resp, layer_id):
    return mapbox_vector_tile.decode(resp.content)[layer_id]["features"]


def test_an_unchanged_tile_is_served_from_the_cache(live_county):  # noqa: F811
    client, _engine = live_county
    first = _get(client, "disputes", 103.05, 36.1, 12)
    cache = client.app.state.tile_cache
    hits = cache.hits
    again = _get(client, "disputes", 103.05, 36.1, 12)
    assert cache.hits == hits + 1
    assert again.content == first.content and again.headers["etag"] == first.headers["etag"]


def test_a_committed_change_is_seen_at_once_and_a_rolled_back_one_never(live_county):  # noqa: F811
    client, engine = live_county
    first = _get(client, "disputes", 103.05, 36.1, 12)
    with engine.connect() as conn:  # written, then rolled back: nothing changed
        tc.add_event(conn, "dispute", "neighbour", 103.0501, 36.1001)
        conn.rollback()
    hits = client.app.state.tile_cache.hits
    assert _get(client, "disputes", 103.05, 36.1, 12).content == first.content
    assert client.app.state.tile_cache.hits == hits + 1
    with engine.begin() as conn:
        tc.add_event(conn, "dispute", "neighbour", 103.0501, 36.1001)
    after = _get(client, "disputes", 103.05, 36.1, 12, headers={"If-None-Match": first.headers["etag"]})
    assert after.status_code == 200 and after.headers["etag"] != first.headers["etag"]
    assert len(_features(after, "disputes")) == len(_features(first, "disputes")) + 1


def test_grids_ignore_worker_positions_but_not_worker_names(live_county):  # noqa: F811
    client, engine = live_county
    first = _get(client, "grids", 103.05, 36.1, 12)
    with engine.begin() as conn:
        conn.execute(text("UPDATE workers SET geom = ST_SetSRID(ST_MakePoint(103.06, 36.11), 4326)"))
    hits = client.app.state.tile_cache.hits
    assert _get(client, "grids", 103.05, 36.1, 12).content == first.content
    assert client.app.state.tile_cache.hits == hits + 1
    with engine.begin() as conn:
        conn.execute(text("UPDATE workers SET name = name || '改' WHERE name = '网格员0'"))
    names = {f["properties"]["worker"] for f in _features(_get(client, "grids", 103.05, 36.1, 12), "grids")}
    assert "网格员0改" in names


def test_masked_and_unmasked_tiles_are_kept_apart(live_county, fresh_db_url):  # noqa: F811
    client, _engine = live_county
    unmasked = {
        f["properties"]["worker"] for f in _features(_get(client, "grids", 103.05, 36.1, 12), "grids")
    }
    assert "网格员0" in unmasked  # a commander's tile, now cached
    authed(client, fresh_db_url, role="planner")
    masked = {f["properties"]["worker"] for f in _features(_get(client, "grids", 103.05, 36.1, 12), "grids")}
    assert masked and not masked & unmasked


def test_risk_tiles_are_cached_until_the_risk_job_stores_new_grades(live_county):  # noqa: F811
    client, engine = live_county
    first = _get(client, "risk", 103.05, 36.1, 12)
    hits = client.app.state.tile_cache.hits
    assert _get(client, "risk", 103.05, 36.1, 12).content == first.content
    assert client.app.state.tile_cache.hits == hits + 1
    with engine.begin() as conn:  # the risk job writes new grades
        conn.execute(
            text("UPDATE risk_grades SET grade = 'red', score = 99 WHERE grid_code = '620121001001001'")
        )
    grades = {
        f["properties"]["code"]: f["properties"]["grade"]
        for f in _features(_get(client, "risk", 103.05, 36.1, 12), "risk")
    }
    assert grades["620121-001-001-001"] == "red"
