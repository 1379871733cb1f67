"""OGC API – Features over HTTP: documents, counts, paging, filters and bad requests."""

import pytest
from sqlalchemy import create_engine, text

from tests.layers import tiny_county as tc
from tests.layers.tiny_county import make_client, tiny_client, tiny_db_url  # noqa: F401

ITEMS = "/ogc/collections/{}/items"


def _all_ids(client, url):
    """Follow next links from `url`; return every feature id seen, in order."""
    ids, pages = [], 0
    while url:
        body = client.get(url).json()
        ids += [f["id"] for f in body["features"]]
        assert body["numberReturned"] == len(body["features"])
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
        pages += 1
    return ids, pages


def test_landing_links_and_conformance(tiny_client):  # noqa: F811
    links = {link["rel"]: link["href"] for link in tiny_client.get("/ogc").json()["links"]}
    assert {"self", "conformance", "data", "service-desc"} <= set(links)
    assert links["service-desc"].endswith("/openapi.json")
    classes = tiny_client.get("/ogc/conformance").json()["conformsTo"]
    assert any(c.endswith("/conf/core") for c in classes) and any(
        c.endswith("/conf/geojson") for c in classes
    )


def test_collections_list_every_layer_with_extent(tiny_client):  # noqa: F811
    body = tiny_client.get("/ogc/collections").json()
    ids = [c["id"] for c in body["collections"]]
    assert ids == [
        "appeals",
        "coverage",
        "disputes",
        "emerging",
        "facilities",
        "grids",
        "hazards",
        "hotspots",
        "hotspots_hex",
        "risk",
        "townships",
        "tracks",
        "villages",
        "visits",
        "workers",
    ]
    grids = tiny_client.get("/ogc/collections/grids").json()
    assert grids["title"] == "网格"
    assert grids["extent"]["spatial"]["bbox"][0] == pytest.approx([103.0, 36.0, 103.4, 36.4])
    assert grids["extent"]["spatial"]["crs"].endswith("CRS84")


@pytest.mark.parametrize(
    ("layer_id", "expected"),
    [("disputes", tc.DISPUTES), ("grids", tc.SMALL_GRIDS), ("risk", tc.SMALL_GRIDS), ("appeals", tc.APPEALS)],
)
def test_items_counts_and_media_type(tiny_client, layer_id, expected):  # noqa: F811
    resp = tiny_client.get(ITEMS.format(layer_id), params={"limit": 1000})
    assert resp.headers["content-type"].startswith("application/geo+json")
    body = resp.json()
    assert body["type"] == "FeatureCollection"
    assert body["numberMatched"] == body["numberReturned"] == expected


def test_paging_returns_every_feature_exactly_once(tiny_client):  # noqa: F811
    ids, pages = _all_ids(tiny_client, ITEMS.format("disputes") + "?limit=5")
    assert len(ids) == len(set(ids)) == tc.DISPUTES and pages == 5
    offset = tiny_client.get(ITEMS.format("disputes"), params={"limit": 5, "offset": 20}).json()
    assert [f["id"] for f in offset["features"]] == ids[20:]


def test_bbox_datetime_and_property_filters(tiny_client):  # noqa: F811
    west = tiny_client.get(ITEMS.format("disputes"), params={"bbox": "103.0,36.0,103.2,36.4"}).json()
    assert west["numberMatched"] == tc.DISPUTES // 2
    closed = tiny_client.get(ITEMS.format("disputes"), params={"status": "closed"}).json()
    assert closed["numberMatched"] == 8 and {f["properties"]["status"] for f in closed["features"]} == {
        "closed"
    }
    two = tiny_client.get(
        ITEMS.format("disputes"), params=[("status", "closed"), ("status", "reported")]
    ).json()
    assert two["numberMatched"] == 16
    town = tiny_client.get(ITEMS.format("hazards"), params={"township": "红城镇"}).json()
    assert town["numberMatched"] == tc.HAZARDS // 2
    # Grid 0 reports on 1-3 January, grid 1 on 11-13 January (local dates).
    january = tiny_client.get(ITEMS.format("disputes"), params={"datetime": "2026-01-01/2026-01-03"}).json()
    assert january["numberMatched"] == 3
    instant = tiny_client.get(ITEMS.format("disputes"), params={"datetime": "2026-01-11T00:00:00Z"}).json()
    assert instant["numberMatched"] == 1
    open_start = tiny_client.get(
        ITEMS.format("disputes"), params={"datetime": "../2026-01-12T00:00:00Z"}
    ).json()
    assert open_start["numberMatched"] == 5
    open_end = tiny_client.get(
        ITEMS.format("disputes"), params={"datetime": "2026-01-12T00:00:00Z/.."}
    ).json()
    assert open_end["numberMatched"] == tc.DISPUTES - 4


def test_single_item_and_gcj02_shift(tiny_client):  # noqa: F811
    first = tiny_client.get(ITEMS.format("disputes"), params={"limit": 1}).json()["features"][0]
    resp = tiny_client.get(f"{ITEMS.format('disputes')}/{first['id']}")
    assert resp.headers["content-type"].startswith("application/geo+json")
    assert resp.json() == first
    shifted = tiny_client.get(f"{ITEMS.format('disputes')}/{first['id']}", params={"crs": "gcj02"}).json()
    dx = shifted["geometry"]["coordinates"][0] - first["geometry"]["coordinates"][0]
    assert 0.001 < dx < 0.01  # a few hundred metres east, as GCJ-02 is around Lanzhou


@pytest.mark.parametrize(
    ("url", "status", "code", "fragment"),
    [
        ("/ogc/collections/nope", 404, "layer_not_found", "known layers: appeals"),
        ("/ogc/collections/nope/items", 404, "layer_not_found", "disputes"),
        (ITEMS.format("disputes") + "/999999", 404, "feature_not_found", "999999"),
        (ITEMS.format("disputes") + "/abc", 404, "feature_not_found", "abc"),
        (ITEMS.format("disputes") + "?bbox=1,2,3", 400, "invalid_bbox", "4 numbers"),
        (ITEMS.format("disputes") + "?bbox=104,37,103,36", 400, "invalid_bbox", "inverted"),
        (ITEMS.format("disputes") + "?bbox=-200,0,1,1", 400, "invalid_bbox", "±180"),
        (ITEMS.format("disputes") + "?bbox=0,0,1,95", 400, "invalid_bbox", "±90"),
        (ITEMS.format("disputes") + "?datetime=2026-99-01", 400, "invalid_datetime", "2026-99-01"),
        (ITEMS.format("disputes") + "?limit=0", 400, "limit_out_of_range", "between 1 and 10000"),
        (ITEMS.format("disputes") + "?limit=10001", 400, "limit_out_of_range", "10001"),
        (ITEMS.format("disputes") + "?colour=red", 400, "unknown_filter", "allowed: category"),
        (ITEMS.format("disputes") + "?severity=high", 400, "invalid_filter_value", "int"),
        (ITEMS.format("disputes") + "?crs=bd09", 400, "unknown_crs", "gcj02"),
    ],
)
def test_bad_requests_are_problem_json(tiny_client, url, status, code, fragment):  # noqa: F811
    resp = tiny_client.get(url)
    assert resp.status_code == status
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["code"] == code and fragment in body["detail"] and body["instance"] == url.split("?")[0]


def test_filter_values_are_bound_not_sql(tiny_client):  # noqa: F811
    resp = tiny_client.get(ITEMS.format("disputes"), params={"status": "closed' OR '1'='1"})
    assert resp.status_code == 200 and resp.json()["numberMatched"] == 0


def test_demo_counts_equal_database_counts(demo_db_url):
    engine = create_engine(demo_db_url)
    with engine.connect() as conn:
        want = dict(
            conn.execute(
                text("SELECT kind, count(*) FROM events WHERE grid_code LIKE '620121%' GROUP BY kind")
            ).all()
        )
        grids = conn.execute(
            text(
                "SELECT count(*) FROM grids WHERE level = 'grid' AND valid_to IS NULL AND code LIKE '620121%'"
            )
        ).scalar()
    engine.dispose()
    with make_client(demo_db_url) as client:
        for layer_id, kind in (("disputes", "dispute"), ("hazards", "hazard"), ("appeals", "appeal")):
            assert (
                client.get(ITEMS.format(layer_id), params={"limit": 1}).json()["numberMatched"] == want[kind]
            )
        assert client.get(ITEMS.format("grids"), params={"limit": 1}).json()["numberMatched"] == grids
        ids, _ = _all_ids(client, ITEMS.format("grids") + "?limit=10000")
        assert len(ids) == len(set(ids)) == grids


def test_a_page_stops_at_its_byte_budget_and_the_next_links_still_give_every_feature(demo_db_url):
    budget = 60_000
    with make_client(demo_db_url, max_page_bytes=budget) as client:
        first = client.get(ITEMS.format("grids"), params={"limit": 10_000})
        body = first.json()
        assert 0 < body["numberReturned"] < body["numberMatched"]
        assert len(first.content) <= budget + 4_096  # the features, and the envelope with its links
        assert any(link["rel"] == "next" for link in body["links"])
        ids, pages = _all_ids(client, ITEMS.format("grids") + "?limit=10000")
        assert len(ids) == len(set(ids)) == body["numberMatched"] and pages > 1


def test_a_feature_larger_than_the_budget_still_comes_one_a_page(tiny_db_url):  # noqa: F811
    with make_client(tiny_db_url, max_page_bytes=1) as client:
        ids, pages = _all_ids(client, ITEMS.format("disputes") + "?limit=1000")
    assert len(ids) == len(set(ids)) == tc.DISPUTES == pages
