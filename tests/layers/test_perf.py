"""Performance guards that keep answers exact: capped counts, the heat cell start, the area extent."""

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from geo.queries import heat as q
from layers import geojson
from layers.builtin import default_registry
from layers.query import LayerQuery
from layers.settings import LayerSettings
from tests.layers import tiny_county as tc
from tests.layers.tiny_county import tiny_db_url  # noqa: F401


@pytest.fixture
def session(tiny_db_url):  # noqa: F811
    engine = create_engine(tiny_db_url)
    with Session(engine) as s:
        yield s
    engine.dispose()


def test_capped_count_is_exact_up_to_the_cap_and_none_above(session):
    layer, query, settings = default_registry().get("disputes"), LayerQuery(area="620121"), LayerSettings()
    assert geojson.count_features(session, layer, query, settings, cap=tc.DISPUTES) == tc.DISPUTES
    assert geojson.count_features(session, layer, query, settings, cap=tc.DISPUTES - 1) is None


def test_number_matched_is_omitted_above_the_cap(session):
    layer = default_registry().get("disputes")
    settings = LayerSettings(_env_file=None, max_limit=2, default_limit=1, count_cap=2)
    page = geojson.get_page(session, layer, LayerQuery(area="620121", limit=1), settings)
    assert page.matched is None and page.has_more
    last = geojson.get_page(
        session, layer, LayerQuery(area="620121", limit=2, offset=tc.DISPUTES - 1), settings
    )
    assert last.returned == 1 and last.matched == tc.DISPUTES  # a last page needs no count


def test_start_cell_tiles_the_extent_in_about_the_cap():
    assert q.start_cell(0.001, 100, None) == 0.001
    assert q.start_cell(0.001, 100, (0.0, 0.0, 10.0, 10.0)) == pytest.approx(0.5)
    assert q.start_cell(2.0, 100, (0.0, 0.0, 10.0, 10.0)) == 2.0


def test_area_extent_from_the_top_level_equals_the_extent_of_every_grid(session):
    full = text(
        "SELECT ST_XMin(x), ST_YMin(x), ST_XMax(x), ST_YMax(x) FROM (SELECT ST_Extent(geom) AS x "
        "FROM grids WHERE valid_to IS NULL AND code LIKE :a) s"
    )
    for area in ("620121", "620121001", "62012100", "6201", "62"):  # own row, or fallback (no city)
        want = session.execute(full, {"a": area + "%"}).one()
        assert q.get_area_extent(session, area) == pytest.approx(tuple(want), abs=1e-6)
