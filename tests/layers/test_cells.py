"""Pre-aggregated event cells (migration 0013): always equal to the events, and the tiles built from
them equal the tiles aggregated point by point, on the demo county."""

import math

import mapbox_vector_tile
import pytest
from sqlalchemy import text

from geo import clock
from geo.queries.layers import CELL_LEVELS
from layers import tiles
from layers.builtin import default_registry
from layers.geojson import source
from layers.query import LayerQuery
from layers.settings import LayerSettings

# Cells recomputed from the events, at every level, compared with the stored ones (rows with n = 0
# are allowed to linger). Empty result: no drift.
_DRIFT = text(f"""
WITH fresh AS (
    SELECT kind, l.z, left(grid_code, 12) AS village_code,
           floor(x / (40075016.68557849 / 2 ^ (l.z + 6)))::int AS cx,
           floor(y / (40075016.68557849 / 2 ^ (l.z + 6)))::int AS cy,
           count(*) AS n, sum(x) AS sx, sum(y) AS sy, sum(severity) AS w
    FROM (SELECT kind, grid_code, severity, ST_X(geom) * (40075016.68557849 / 360.0) AS x,
                 ln(tan(pi() / 4 + radians(ST_Y(geom)) / 2)) * 6378137.0 AS y
          FROM events WHERE grid_code IS NOT NULL) p
    CROSS JOIN (VALUES {", ".join(f"({z})" for z in CELL_LEVELS)}) AS l(z)
    GROUP BY 1, 2, 3, 4, 5
)
SELECT coalesce(f.kind, c.kind), coalesce(f.z, c.z), coalesce(f.cx, c.cx), coalesce(f.cy, c.cy),
       f.n, c.n
FROM fresh f FULL JOIN (SELECT * FROM event_cells WHERE n <> 0) c
  USING (kind, z, village_code, cx, cy)
WHERE f.n IS DISTINCT FROM c.n OR f.w IS DISTINCT FROM c.w
   OR abs(f.sx - c.sx) > 1e-3 * f.n OR abs(f.sy - c.sy) > 1e-3 * f.n
LIMIT 5
""")


def _drift(session) -> list:
    return [tuple(r) for r in session.execute(_DRIFT)]


def test_cells_equal_the_demo_events(db_session):
    assert _drift(db_session) == []
    total = db_session.execute(text("SELECT sum(n) FROM event_cells WHERE z = 9")).scalar_one()
    assert (
        total
        == db_session.execute(text("SELECT count(*) FROM events WHERE grid_code IS NOT NULL")).scalar_one()
    )


def test_cells_follow_inserts_moves_and_deletes_but_not_status_changes(db_session):
    def one(sql: str, **params) -> object:
        return db_session.execute(text(sql), params).scalar()

    event_id = one(
        "INSERT INTO events (kind, category, severity, status, title, reported_at, source, geom, created_at) "
        "VALUES ('dispute', 'neighbour', 3, 'reported', '测试', :now, 'patrol', "
        "ST_SetSRID(ST_MakePoint(103.26, 36.74), 4326), :now) RETURNING id",
        now=clock.now(),
    )
    assert _drift(db_session) == []
    cells_before = one("SELECT sum(n) FROM event_cells")
    one("UPDATE events SET status = 'registered' WHERE id = :id RETURNING id", id=event_id)
    assert one("SELECT sum(n) FROM event_cells") == cells_before and _drift(db_session) == []
    one(
        "UPDATE events SET geom = ST_SetSRID(ST_MakePoint(103.40, 36.60), 4326) WHERE id = :id RETURNING id",
        id=event_id,
    )
    one("UPDATE events SET severity = 1 WHERE id = :id RETURNING id", id=event_id)
    assert _drift(db_session) == []
    one(
        "DELETE FROM events WHERE kind = 'dispute' AND id IN (:id, (SELECT min(id) FROM events)) RETURNING 1",
        id=event_id,
    )
    assert _drift(db_session) == []


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def _inside(data: bytes, layer_id: str) -> list[tuple]:
    """Features drawn inside the tile (the buffer ring may differ by float rounding of `&&`)."""
    features = mapbox_vector_tile.decode(data).get(layer_id, {}).get("features", []) if data else []
    return sorted(
        (tuple(f["geometry"]["coordinates"]), f["properties"]["count"], f["properties"]["weight"])
        for f in features
        if all(0 <= c < 4096 for c in f["geometry"]["coordinates"])
    )


@pytest.mark.parametrize("area", ["620121", "620121003"])
@pytest.mark.parametrize("z", [4, 6, 7, 8, 9])
def test_tiles_from_cells_equal_tiles_aggregated_from_points(db_session, area, z):
    """Same features, counts and weights; positions equal (or one tile pixel apart: sums vs averages)."""
    db_session.execute(
        text("SELECT set_config('gridgov.area', :a, true), set_config('role', 'gridgov_app', true)"),
        {"a": area},
    )
    settings = LayerSettings(_env_file=None)
    query = LayerQuery(area=area)
    for layer_id in ("disputes", "appeals"):
        layer = default_registry().get(layer_id)
        level = tiles._cell_level(layer, query, z, settings)
        assert level == min(lv for lv in CELL_LEVELS if lv >= z)
        for dx, dy in ((0, 0), (1, 0), (0, 1), (-1, -1)):
            x, y = _tile_of(103.3, 36.7, z)
            x, y = x + dx, y + dy
            from_cells = tiles._cell_rows(layer, query, level, z, settings).params(
                tile_x=x, tile_y=y, **tiles._cell_range(level, z, x, y)
            )
            cells = db_session.execute(tiles._encode(layer, from_cells, 20000)).one()
            points = db_session.execute(
                tiles._encode(
                    layer,
                    tiles._clusters(layer, source(layer, area), query, z, x, y, settings),
                    20000,
                )
            ).one()
            a, b = _inside(bytes(cells[0] or b""), layer_id), _inside(bytes(points[0] or b""), layer_id)
            assert [f[1:] for f in a] == [f[1:] for f in b]
            assert all(math.dist(fa[0], fb[0]) <= 1.5 for fa, fb in zip(a, b, strict=True))


def test_filtered_or_unaggregated_tiles_do_not_use_cells():
    settings = LayerSettings(_env_file=None)
    disputes = default_registry().get("disputes")
    assert (
        tiles._cell_level(disputes, LayerQuery(area="620121", filters={"status": ["reported"]}), 8, settings)
        is None
    )
    assert (
        tiles._cell_level(disputes, LayerQuery(area="620121", bbox=(103.0, 36.0, 104.0, 37.0)), 8, settings)
        is None
    )
    assert tiles._cell_level(default_registry().get("grids"), LayerQuery(area="620121"), 8, settings) is None
    coarse = LayerSettings(_env_file=None, cluster_cell_px=128)
    assert tiles._cell_level(disputes, LayerQuery(area="620121"), 8, coarse) is None


def test_tile_statements_are_built_once_per_layer_zoom_area_and_filters():
    """x and y are parameters; anything else that changes the SQL gets its own statement."""
    settings = LayerSettings(_env_file=None)
    grids = default_registry().get("grids")
    county = tiles._statement(grids, LayerQuery(area="620121"), 12, None, False, settings)
    assert tiles._statement(grids, LayerQuery(area="620121"), 12, None, False, settings) is county
    assert tiles._statement(grids, LayerQuery(area="620121001"), 12, None, False, settings) is not county
    assert tiles._statement(grids, LayerQuery(area="620121"), 13, None, False, settings) is not county
    other = LayerSettings(_env_file=None)
    assert tiles._statement(grids, LayerQuery(area="620121"), 12, None, False, other) is not county
    disputes = default_registry().get("disputes")
    open_only = LayerQuery(area="620121", filters={"status": ["reported"]})
    assert tiles._statement(disputes, open_only, 12, None, False, settings) is not tiles._statement(
        disputes, LayerQuery(area="620121"), 12, None, False, settings
    )
