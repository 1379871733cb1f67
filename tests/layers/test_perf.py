"""Performance guards that keep answers exact: capped counts, the heat cell start, the area extent."""

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from geo import clock
from geo.queries.heat import start_cell
from geo.queries.mapview import get_area_extent, list_map_events
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
    assert start_cell(0.001, 100, None) == 0.001
    assert start_cell(0.001, 100, (0.0, 0.0, 10.0, 10.0)) == pytest.approx(0.5)
    assert start_cell(2.0, 100, (0.0, 0.0, 10.0, 10.0)) == 2.0


def test_area_extent_from_the_top_level_equals_the_extent_of_every_grid(session):
    full = text(
        "SELECT ST_XMin(x), ST_YMin(x), ST_XMax(x), ST_YMax(x) FROM (SELECT ST_Extent(geom) AS x "
        "FROM grids WHERE valid_to IS NULL AND code LIKE :a) s"
    )
    for area in ("620121", "620121001", "62012100", "6201", "62"):  # own row, or fallback (no city)
        want = session.execute(full, {"a": area + "%"}).one()
        assert get_area_extent(session, area) == pytest.approx(tuple(want), abs=1e-6)


# The open-and-recent events of the county page as first written: ids of both sets, joined back.
_MAP_EVENTS_REFERENCE = text("""
WITH picked AS (
    SELECT e.id FROM events e
    WHERE e.status NOT IN ('closed', 'rejected', 'duplicate') AND e.grid_code LIKE :area_like
    UNION
    SELECT e.id FROM events e
    WHERE e.kind IN ('dispute', 'hazard', 'appeal') AND e.grid_code LIKE :area_like
      AND e.reported_at >= CAST(:as_of AS timestamptz) - make_interval(days => :recent_days)
), ranked AS (
    SELECT e.id, e.kind, e.category, e.status, e.severity, e.reported_at, e.grid_code, e.geom,
           row_number() OVER (PARTITION BY e.kind ORDER BY e.reported_at DESC, e.id DESC) AS rank,
           count(*) OVER (PARTITION BY e.kind) AS total
    FROM events e JOIN picked USING (id)
)
SELECT id, kind, category, status, severity, reported_at, grid_code, total,
       round(ST_X(geom)::numeric, 4)::float8 AS lon, round(ST_Y(geom)::numeric, 4)::float8 AS lat
FROM ranked WHERE rank <= :per_kind ORDER BY kind, rank
""")


@pytest.mark.parametrize("area", ["620121", "620121003"])
@pytest.mark.parametrize("per_kind", [40, 1_000_000])
def test_map_events_equal_the_reference_query(db_session, area, per_kind):
    as_of = clock.now()
    got = list_map_events(db_session, area, as_of=as_of, per_kind=per_kind)
    params = {"area_like": area + "%", "as_of": as_of, "recent_days": 30, "per_kind": per_kind}
    expected = db_session.execute(_MAP_EVENTS_REFERENCE, params).all()
    assert [tuple(r) for r in got] == [tuple(r) for r in expected]
    statuses = {r.status for r in expected}
    assert statuses & {"closed"} and statuses - {"closed", "rejected", "duplicate"}, (
        "needs recent closed and open cases to compare both branches"
    )
