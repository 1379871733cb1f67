"""Province and city accounts read their analyses per county by default, anyone may page cells in a bbox,
every answer says when it was computed, and none grows past 2 MB."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from geo import clock
from geo.analytics.chronic import refresh_chronic
from geo.analytics.emerging import refresh_emerging
from geo.analytics.hotspots import refresh_hotspots
from geo.analytics.settings import AnalyticsSettings
from tests.apps import app_for
from tests.auth_helpers import authed

MB2 = 2 * 1024 * 1024


@pytest.fixture(scope="module")
def province(demo_db_url, engine):
    """A province account's analyses (area 62: the demo's one county), committed as the jobs would."""
    settings = AnalyticsSettings(_env_file=None, weeks=12)
    with Session(engine) as session:
        for unit in ("grid", "hex"):
            refresh_hotspots(session, "62", unit, settings, clock.now())
        refresh_emerging(session, "62", settings, clock.now())
        refresh_chronic(session, "62", settings, clock.now())
        session.commit()
    with TestClient(app_for(demo_db_url)) as c:
        yield authed(c, demo_db_url, "commander", "62")


@pytest.fixture(scope="module")
def county(demo_db_url):
    with TestClient(app_for(demo_db_url)) as c:
        yield authed(c, demo_db_url, "commander", "620121")


def test_a_province_reads_hot_spots_per_county_by_default(province):
    body = province.get("/api/hotspots").json()
    assert body["level"] == "county" and body["computed_at"] and "cells" not in body
    assert [u["code"] for u in body["units"]] == ["620121"]
    assert body["units"][0]["cells"] == body["total"] == sum(body["counts"].values()) > 1000
    assert body["units"][0]["hot"] == sum(n for k, n in body["counts"].items() if k.startswith("热点"))


def test_cells_come_in_pages_and_in_a_bbox(province):
    first = province.get("/api/hotspots", params={"level": "grid", "limit": 50}).json()
    second = province.get("/api/hotspots", params={"level": "grid", "limit": 50, "offset": 50}).json()
    assert len(first["cells"]) == 50 and first["next_offset"] == 50
    assert not {c["cell"] for c in first["cells"]} & {c["cell"] for c in second["cells"]}
    assert first["cells"][0]["z"] >= first["cells"][-1]["z"] >= second["cells"][0]["z"]
    box = province.get("/api/hotspots", params={"level": "grid", "bbox": "103.2,36.6,103.3,36.7"}).json()
    assert 0 < box["total"] < first["total"] and box["next_offset"] is None
    assert len(box["cells"]) == box["total"]


def test_hexagons_are_summed_per_county_too(province):
    body = province.get("/api/hotspots", params={"unit": "hex"}).json()
    assert (
        body["units"] and body["units"][0]["code"] == "620121" and body["units"][0]["cells"] == body["total"]
    )


def test_risk_and_chronic_per_county(province, county):
    risk = province.get("/api/risk/lists").json()
    graded = county.get("/api/risk/lists", params={"limit": 1}).json()
    assert risk["level"] == "county" and risk["computed_at"]
    unit = risk["units"][0]
    assert unit["code"] == "620121" and unit["red"] + unit["yellow"] + unit["green"] == sum(
        graded["counts"].values()
    )
    assert len(graded["grids"]) == 1 and graded["next_offset"] == 1
    chronic = province.get("/api/chronic").json()
    unit = chronic["units"][0]
    assert chronic["level"] == "county" and chronic["computed_at"] and unit["places"] + unit["parties"] > 0
    listed = province.get("/api/chronic", params={"level": "grid", "limit": 5}).json()
    assert len(listed["groups"]) == min(5, unit["places"] + unit["parties"])
    assert (listed["places"], listed["parties"]) == (chronic["places"], chronic["parties"])


def test_a_level_above_the_account_is_refused(demo_db_url):
    with TestClient(app_for(demo_db_url)) as c:
        town = authed(c, demo_db_url, "dispatcher", "620121003")
        r = town.get("/api/hotspots", params={"level": "county"})
    assert r.status_code == 400 and r.json()["where"] == "level"


def test_a_province_map_is_drawn_per_county(province):
    for path in ("/maps/hotspots", "/maps/emerging", "/maps/risk"):
        page = province.get(path)
        assert page.status_code == 200 and "按县汇总" in page.text and "计算于" in page.text, path
        assert len(page.content) < MB2


@pytest.mark.parametrize(
    "path",
    [
        "/api/hotspots",
        "/api/hotspots?unit=hex",
        "/api/risk/lists",
        "/api/chronic",
        "/maps/hotspots",
        "/api/jobs",
    ],
)
def test_every_analytics_answer_says_when_and_stays_small(county, path):
    r = county.get(path)
    assert r.status_code == 200 and len(r.content) < MB2
    if path.startswith("/api/") and path != "/api/jobs":
        assert r.json()["computed_at"], path
    elif path.startswith("/maps/"):
        assert "计算于" in r.text
