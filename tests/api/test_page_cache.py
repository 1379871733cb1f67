"""The server's cache of feature pages (OGC API items, layers.tile_cache.PageCache) over HTTP: reused
while the layer's data is unchanged, recomputed as soon as anything on the page changes, kept apart
by clearance and by every query parameter, never for clock-driven layers.

On a fresh tiny county with real commits (the cache must see what other connections commit).
"""

from sqlalchemy import text

from tests.auth_helpers import authed
from tests.layers import tiny_county as tc
from tests.layers.tiny_county import live_county  # noqa: F401

BBOX = "102.9,35.9,103.3,36.3"


def _items(client, layer_id: str, **params) -> dict:
    resp = client.get(f"/ogc/collections/{layer_id}/items", params={"bbox": BBOX, **params})
    assert resp.status_code == 200, resp.text
    return resp.json()


def _hits(client) -> int:
    return client.app.state.page_cache.hits


def test_an_unchanged_page_is_served_from_the_cache(live_county):  # noqa: F811
    client, _engine = live_county
    first = _items(client, "disputes")
    assert first["features"], "an empty page would prove nothing"
    hits = _hits(client)
    again = _items(client, "disputes")
    assert _hits(client) == hits + 1
    assert again["features"] == first["features"]
    assert again["numberMatched"] == first["numberMatched"]


def test_other_parameters_are_other_pages(live_county):  # noqa: F811
    client, _engine = live_county
    everything = _items(client, "disputes")
    hits = _hits(client)
    one = _items(client, "disputes", limit=1)
    neighbours = _items(client, "disputes", category="neighbour")
    assert _hits(client) == hits  # neither was served from the page of all disputes
    assert len(one["features"]) == 1 and one["numberMatched"] == everything["numberMatched"]
    assert {f["properties"]["category"] for f in neighbours["features"]} == {"neighbour"}


def test_a_committed_change_is_seen_at_once_and_a_rolled_back_one_never(live_county):  # noqa: F811
    client, engine = live_county
    first = _items(client, "disputes")
    with engine.connect() as conn:  # written, then rolled back: nothing changed
        tc.add_event(conn, "dispute", "neighbour", 103.0501, 36.1001)
        conn.rollback()
    hits = _hits(client)
    assert _items(client, "disputes")["features"] == first["features"]
    assert _hits(client) == hits + 1
    with engine.begin() as conn:
        tc.add_event(conn, "dispute", "neighbour", 103.0501, 36.1001)
    after = _items(client, "disputes")
    assert _hits(client) == hits + 1  # recomputed, not served
    assert len(after["features"]) == len(first["features"]) + 1
    assert after["numberMatched"] == first["numberMatched"] + 1


def test_masked_and_unmasked_pages_are_kept_apart(live_county, fresh_db_url):  # noqa: F811
    client, engine = live_county
    with engine.connect() as conn:
        names = set(conn.execute(text("SELECT name FROM workers")).scalars())
    unmasked = {f["properties"]["worker"] for f in _items(client, "grids")["features"]}
    assert unmasked & names  # a commander's page, now cached
    authed(client, fresh_db_url, role="planner")
    masked = {f["properties"]["worker"] for f in _items(client, "grids")["features"]}
    assert masked and not masked & names


def test_risk_pages_are_cached_until_the_risk_job_stores_new_grades(live_county):  # noqa: F811
    client, engine = live_county
    _items(client, "risk")
    hits = client.app.state.page_cache.hits
    _items(client, "risk")
    assert client.app.state.page_cache.hits == hits + 1
    with engine.begin() as conn:  # the risk job writes new grades
        conn.execute(
            text("UPDATE risk_grades SET grade = 'red', score = 99 WHERE grid_code = '620121001001001'")
        )
    grades = {f["properties"]["code"]: f["properties"]["grade"] for f in _items(client, "risk")["features"]}
    assert grades["620121-001-001-001"] == "red"
