"""Layer sources, GeoJSON and tiles at the layer level, on the tiny county (known answers)."""

import json

import numpy as np
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from geo import clock
from geo.analytics.risk import RiskSettings, grade_area
from geo.crs import wgs84_to_gcj02
from layers import geojson
from layers.builtin import default_registry
from layers.errors import FeatureNotFoundError
from layers.query import LayerQuery
from layers.settings import LayerSettings
from tests.layers import tiny_county as tc
from tests.layers.tiny_county import tiny_db_url  # noqa: F401

SETTINGS = LayerSettings(_env_file=None)
RISK = RiskSettings(_env_file=None)
EXPECTED = {
    "townships": 2,
    "villages": 4,
    "grids": tc.SMALL_GRIDS,
    "disputes": tc.DISPUTES,
    "hazards": tc.HAZARDS,
    "appeals": tc.APPEALS,
    "workers": 8,
    "facilities": 2,
    "risk": tc.SMALL_GRIDS,
}


@pytest.fixture
def session(tiny_db_url):  # noqa: F811
    engine = create_engine(tiny_db_url)
    with Session(engine) as s:
        yield s
    engine.dispose()


def _count(session, layer_id, area="620121", **kw):
    query = LayerQuery(area=area, **kw)
    return geojson.count_features(session, default_registry().get(layer_id), query, SETTINGS)


@pytest.mark.parametrize(("layer_id", "expected"), sorted(EXPECTED.items()))
def test_source_counts_known_answers_and_hides_other_county(session, layer_id, expected):
    assert _count(session, layer_id) == expected


def test_source_restricts_to_a_township_area(session):
    assert _count(session, "disputes", area="620121001") == tc.DISPUTES // 2
    assert _count(session, "grids", area="620121002") == tc.SMALL_GRIDS // 2
    assert _count(session, "risk", area="620121002001") == 2


def test_page_is_one_feature_collection_built_in_the_database(session):
    layer = default_registry().get("grids")
    page = geojson.get_page(session, layer, LayerQuery(area="620121", limit=3), SETTINGS)
    doc = json.loads(b"".join(geojson.collection_bytes(page, [])))
    assert page.returned == 3 and page.matched == 8 and page.has_more
    first = doc["features"][0]
    assert first["geometry"]["type"] == "MultiPolygon"
    assert set(first["properties"]) == set(layer.properties)
    assert first["properties"]["code"] == "620121-001-001-001"
    assert first["properties"]["township"] == "城关镇"


def test_feature_outside_the_area_is_not_found(session):
    other = session.execute(text("SELECT id FROM events WHERE grid_code LIKE '620122%'")).scalar_one()
    with pytest.raises(FeatureNotFoundError):
        geojson.get_feature(session, default_registry().get("disputes"), "620121", str(other), SETTINGS)


def _grades(session, settings: RiskSettings) -> list:
    """Grade the tiny county with `settings` (in this test's transaction) and read the risk layer."""
    grade_area(session, "620121", settings)
    sub = default_registry().get("risk").select("620121").subquery()
    return session.execute(
        select(sub.c.code, sub.c.overdue, sub.c.score, sub.c.grade, sub.c.open_events)
    ).all()


def test_risk_layer_shows_the_one_grade_rule(session):
    rows = _grades(session, RISK)
    for row in rows:
        red = row.score >= RISK.red_score or row.overdue >= RISK.red_overdue
        assert row.grade == ("red" if red else "yellow" if row.score >= RISK.yellow_score else "green")
        assert row.open_events == 4  # per grid: 2 open disputes + 1 open hazard + 1 appeal
    strict = RiskSettings(_env_file=None, red_score=99, yellow_score=98, red_overdue=99)
    assert {r.grade for r in _grades(session, strict)} == {"green"}
    session.rollback()


def test_two_overdue_cases_make_a_grid_red_whatever_its_score(session):
    session.execute(
        text(
            "UPDATE events SET status = 'in_progress', closed_at = NULL, "
            "deadline_at = CAST(:now AS timestamptz) - interval '1 day' "
            "WHERE id IN (SELECT id FROM events WHERE grid_code = '620121001001001' AND kind = 'dispute' "
            "ORDER BY id LIMIT 2)"
        ),
        {"now": clock.now()},
    )
    lenient = RiskSettings(_env_file=None, red_score=500, yellow_score=400)
    graded = {r.code: (r.overdue, r.grade) for r in _grades(session, lenient)}
    assert graded.pop("620121-001-001-001") == (2, "red")
    assert set(graded.values()) == {(0, "green")}
    session.rollback()


def test_gcj02_sql_matches_geo_crs(session):
    pts = np.array([[103.05, 36.1], [103.9, 36.7], [104.5, 35.2], [2.35, 48.85]])
    for lon, lat in pts:
        got = session.execute(
            text(
                "SELECT ST_X(g), ST_Y(g) "
                "FROM gridgov_wgs84_to_gcj02(ST_SetSRID(ST_MakePoint(:x, :y), 4326)) g"
            ),
            {"x": lon, "y": lat},
        ).one()
        want = wgs84_to_gcj02(lon, lat)
        assert got[0] == pytest.approx(float(want[0]), abs=1e-9) and got[1] == pytest.approx(
            float(want[1]), abs=1e-9
        )


def test_gcj02_sql_keeps_polygon_structure(session):
    row = session.execute(
        text("""
        SELECT GeometryType(s), ST_NumGeometries(s), ST_NPoints(s) = ST_NPoints(g), ST_IsValid(s)
        FROM (SELECT geom AS g, gridgov_wgs84_to_gcj02(geom) AS s FROM grids WHERE level = 'grid' LIMIT 1) x
    """)
    ).one()
    assert tuple(row) == ("MULTIPOLYGON", 1, True, True)


def test_extent_is_computed_in_postgis(session):
    ext = geojson.get_extent(session, default_registry().get("grids"), "620121", SETTINGS)
    assert ext == pytest.approx([103.0, 36.0, 103.4, 36.4], abs=1e-6)
    assert session.execute(select(func.count()).select_from(text("grids"))).scalar() > 0
