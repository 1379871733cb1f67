"""HTTP: hot spots as OGC items, tiles, Folium; risk lists, chronic cases, reports; jurisdiction."""

import math

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient

from geo.analytics.settings import AnalyticsSettings
from tests.apps import app_for
from tests.auth_helpers import authed

TOWNSHIP = "620121003"


def _app(url):
    return app_for(url, analytics=AnalyticsSettings(_env_file=None, permutations=99, weeks=12))


@pytest.fixture(scope="module")
def client(demo_db_url):
    with TestClient(_app(demo_db_url)) as c:
        yield authed(c, demo_db_url)


@pytest.fixture(scope="module")
def township(demo_db_url):
    with TestClient(_app(demo_db_url)) as c:
        yield authed(c, demo_db_url, role="dispatcher", area=TOWNSHIP)


def test_hotspots_json_covers_the_township_only(township):
    body = township.get("/api/hotspots").json()
    assert body["area"] == TOWNSHIP and body["cells"]
    assert all(c["grid_code"].startswith("620121-003-") for c in body["cells"])
    assert sum(body["counts"].values()) == len(body["cells"])


def test_hotspots_layer_as_ogc_items_and_tiles(township):
    items = township.get("/ogc/collections/hotspots/items", params={"limit": 5000})
    assert items.status_code == 200, items.text
    feats = items.json()["features"]
    assert feats and all(f["properties"]["grid_code"].startswith("620121-003-") for f in feats)
    assert {"z", "p", "confidence", "class_label", "eb_rate"} <= set(feats[0]["properties"])
    lon, lat = feats[0]["geometry"]["coordinates"][0][0][0]
    z = 12
    x = int((lon + 180) / 360 * 2**z)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2**z)
    tile = township.get(f"/tiles/hotspots/{z}/{x}/{y}.mvt")
    assert tile.status_code == 200, tile.text
    assert mapbox_vector_tile.decode(tile.content)["hotspots"]["features"]


def test_hex_and_emerging_layers_serve_features(township):
    for layer in ("hotspots_hex", "emerging"):
        r = township.get(f"/ogc/collections/{layer}/items", params={"limit": 10})
        assert r.status_code == 200 and r.json()["features"], (layer, r.text[:300])


def test_folium_pages(township):
    page = township.get("/maps/hotspots")
    assert page.status_code == 200 and "热点（99%置信）" in page.text and "leaflet" in page.text.lower()
    assert "网格冷热点" in page.text
    assert "新兴热点" in township.get("/maps/emerging").text


def test_risk_lists_three_lists_and_masking(township):
    body = township.get("/api/risk/lists").json()
    assert set(body["counts"]) == {"red", "yellow", "green"}
    assert body["grids"], "some yellow or red grid"
    g = body["grids"][0]
    assert g["grade"] in ("red", "yellow") and g["code"].startswith("620121-003-")
    assert {"problems", "responsibility", "tasks"} <= set(g) and g["tasks"]


def test_chronic_groups_carry_their_evidence_and_the_rule(client):
    body = client.get("/api/chronic").json()
    assert body["rule"] == {"metres": 50.0, "place_cases": 3, "party_cases": 2, "min_days": 30}
    assert body["groups"], "the demo county has disputes between the same parties"
    for g in body["groups"]:
        assert len(g["history"]) == g["cases"] >= 2 and g["span_days"] >= 30
    parties = client.get("/api/chronic", params={"basis": "parties"}).json()["groups"]
    assert parties and all(g["basis"] == "parties" and g["party"] for g in parties)
    backlog = client.get("/api/backlog").json()
    assert backlog["days"] == 90 and all(c["open_days"] > 90 for c in backlog["cases"])


def test_reports_are_read_live_until_issued_by_post_then_frozen(township):
    params = {"date": "2026-01-10", "area": TOWNSHIP}
    live = township.get("/api/reports/monthly", params=params).json()
    assert not live["issued"] and live["issued_at"] is None
    again = township.get("/api/reports/monthly", params=params).json()
    assert not again["issued"], "a GET never issues a report"
    posted = township.post("/api/reports/monthly/issue", params=params)
    assert posted.status_code == 200, posted.text
    js = township.get("/api/reports/monthly", params=params).json()
    assert js["issued"] and js["area"] == TOWNSHIP and js["start"] == "2026-01-01T00:00:00+08:00"
    assert js["cutoff_at"] == posted.json()["cutoff_at"] and js["zone"] == "Asia/Shanghai"
    html = township.get("/api/reports/monthly", params={**params, "format": "html"})
    assert (
        html.status_code == 200
        and "月研判" in html.text
        and "已签发" in html.text
        and "北京时间" in html.text
        and "data:image/png" in html.text
    )
    pdf = township.get("/api/reports/monthly", params={**params, "format": "pdf"})
    assert (
        pdf.status_code == 200
        and pdf.content.startswith(b"%PDF")
        and pdf.headers["content-type"] == "application/pdf"
    )
    # Issued once: the same figures and cut-off on every request.
    assert township.get("/api/reports/monthly", params=params).json()["cutoff_at"] == js["cutoff_at"]


def test_reports_outside_jurisdiction_and_bad_input(township):
    r = township.get("/api/reports/weekly", params={"area": "620121002"})
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    assert township.get("/api/reports/yearly").status_code == 422
    assert township.get("/api/reports/daily", params={"date": "2026-13-01"}).json()["where"] == "date"
