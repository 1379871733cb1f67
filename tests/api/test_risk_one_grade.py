"""One risk grade: every small grid has the same colour in the risk layer (OGC items and vector tiles),
the Folium risk map, the three-colour lists and the reports, all read from the `risk` job's grades."""

import math
import re

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from tests.apps import app_for
from tests.auth_helpers import authed


@pytest.fixture(scope="module")
def client(demo_db_url):
    app = app_for(demo_db_url)
    with TestClient(app) as c:
        yield authed(c, demo_db_url)


@pytest.fixture(scope="module")
def stored(demo_db_url) -> dict[str, str]:
    """display code -> grade, as the risk job stored them."""
    engine = create_engine(demo_db_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT grid_code, grade FROM risk_grades WHERE grid_code LIKE '620121%'"))
        out = {f"{c[:6]}-{c[6:9]}-{c[9:12]}-{c[12:]}": g for c, g in rows}
    engine.dispose()
    return out


def _tiles(bbox, z):
    """(x, y) of the tiles covering a lon/lat box at zoom z."""

    def xy(lon, lat):
        n = 2**z
        return int((lon + 180) / 360 * n), int(
            (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
        )

    (x0, y1), (x1, y0) = xy(bbox[0], bbox[1]), xy(bbox[2], bbox[3])
    return [(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


def test_every_grid_is_graded_and_some_are_red_and_yellow(stored):
    assert len(stored) == 1383
    assert {"red", "yellow", "green"} <= set(stored.values())


def test_the_risk_layer_items_show_the_stored_grades(client, stored):
    body = client.get("/ogc/collections/risk/items", params={"limit": 10_000}).json()
    items = {f["properties"]["code"]: f["properties"]["grade"] for f in body["features"]}
    assert items == stored
    assert all(f["properties"]["as_of"] for f in body["features"])


def test_the_risk_tiles_show_the_stored_grades(client, stored):
    bbox = client.get("/ogc/collections/risk").json()["extent"]["spatial"]["bbox"][0]
    seen = {}
    for x, y in _tiles(bbox, 9):
        r = client.get(f"/tiles/risk/9/{x}/{y}.mvt")
        assert r.status_code in (200, 204), r.text
        if r.status_code == 200:
            for f in mapbox_vector_tile.decode(r.content)["risk"]["features"]:
                seen[f["properties"]["code"]] = f["properties"]["grade"]
    assert seen == stored


def test_the_lists_show_the_stored_grades(client, stored):
    body = client.get("/api/risk/lists").json()
    assert {g["code"]: g["grade"] for g in body["grids"]} == {c: g for c, g in stored.items() if g != "green"}
    assert body["counts"] == {
        k: sum(1 for g in stored.values() if g == k) for k in ("red", "yellow", "green")
    }


def test_the_risk_map_counts_the_stored_grades(client, stored):
    page = client.get("/maps/risk").text
    for name, grade in (("高风险", "red"), ("中风险", "yellow"), ("低风险", "green")):
        shown = int(re.search(name + r"：(\d+) 个网格", page).group(1))
        assert shown == sum(1 for g in stored.values() if g == grade)
    assert "评定时刻" in page and "北京时间" in page


def test_a_report_counts_the_stored_grades(client, stored):
    report = client.get("/api/reports/daily", params={"date": "2026-11-27"}).json()
    assert report["risk"]["counts"] == {
        k: sum(1 for g in stored.values() if g == k) for k in ("red", "yellow", "green")
    }
