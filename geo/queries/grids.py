"""Questions about the grid hierarchy: where a point falls, and whether grids nest."""

import os
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import BigInteger

from geo.db.engine import allow_parallel
from geo.errors import GridNotFoundError, NestingError
from geo.models import Grid, format_code
from geo.queries.area import area_range, in_area
from geo.settings import NESTING_TOLERANCE_M2

PARENT_LEVEL = {
    "township": "county",
    "village": "township",
    "grid": "village",
    "county": "city",
    "city": "province",
}

# Siblings overlap when their interiors share area (DE-9IM interior/interior = 2). Shared edges
# and float noise along them are allowed up to the tolerance. Only current rows are compared, and
# with :ids only the pairs that involve those rows.
_OVERLAPS = text("""
SELECT a.code AS a, b.code AS b, ST_Area(ST_Intersection(a.geom, b.geom)::geography) AS area
FROM grids a
JOIN grids b ON b.parent_id IS NOT DISTINCT FROM a.parent_id AND b.level = a.level AND b.id <> a.id
            AND b.valid_to IS NULL AND a.geom && b.geom
WHERE a.valid_to IS NULL
  AND (CAST(:ids AS bigint[]) IS NULL OR a.id = ANY(:ids))
  AND (CAST(:ids AS bigint[]) IS NOT NULL OR a.id < b.id)
  AND ST_Relate(a.geom, b.geom, '2********')
  AND ST_Area(ST_Intersection(a.geom, b.geom)::geography) > :tol
ORDER BY area DESC
LIMIT 20
""").bindparams(bindparam("ids", type_=ARRAY(BigInteger)))

# A child spills out of its parent when the part outside has real area. ST_CoveredBy first: it is
# cheap and settles almost every row, so the costly difference runs only on doubtful ones.
_SPILLS = text("""
SELECT c.code AS child, p.code AS parent, c.level AS level, p.level AS parent_level,
       CASE WHEN ST_CoveredBy(c.geom, p.geom) THEN 0
            ELSE ST_Area(ST_Difference(c.geom, p.geom)::geography) END AS outside
FROM grids c JOIN grids p ON p.id = c.parent_id
WHERE c.valid_to IS NULL
  AND (CAST(:ids AS bigint[]) IS NULL OR c.id = ANY(:ids) OR p.id = ANY(:ids))
  AND (p.valid_to IS NOT NULL
       OR (NOT ST_CoveredBy(c.geom, p.geom) AND ST_Area(ST_Difference(c.geom, p.geom)::geography) > :tol)
       OR p.level <> CASE c.level WHEN 'township' THEN 'county' WHEN 'village' THEN 'township'
                                  WHEN 'grid' THEN 'village' WHEN 'county' THEN 'city' ELSE 'province' END)
ORDER BY outside DESC
LIMIT 20
""").bindparams(bindparam("ids", type_=ARRAY(BigInteger)))


def check_nesting(
    session: Session, grid_ids: list[int] | None = None, *, tolerance_m2: float = NESTING_TOLERANCE_M2
) -> None:
    """Raise NestingError, naming both codes, if current siblings overlap or a child leaves its parent."""
    params = {"ids": grid_ids, "tol": tolerance_m2}
    problems = [_spill_problem(row) for row in session.execute(_SPILLS, params)]
    problems += [_overlap_problem(row) for row in session.execute(_OVERLAPS, params)]
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise NestingError(first["msg"] + more, where=first["where"], errors=problems)


def _overlap_problem(row) -> dict:
    a, b = format_code(row.a), format_code(row.b)
    return {
        "where": f"{a} / {b}",
        "codes": [a, b],
        "msg": f"grids {a} and {b} overlap by {row.area:,.0f} m² (siblings must not overlap)",
    }


def _spill_problem(row) -> dict:
    child, parent = format_code(row.child), format_code(row.parent)
    if row.outside == 0:
        msg = (
            f"grid {child} ({row.level}) cannot sit under {parent} ({row.parent_level}): "
            "the parent is retired or of the wrong level"
        )
    else:
        msg = f"grid {child} is not within its parent {parent}: {row.outside:,.0f} m² lies outside"
    return {"where": f"{child} / {parent}", "codes": [child, parent], "msg": msg}


def get_grid_at(session: Session, lon: float, lat: float) -> Grid:
    """The current small grid covering a WGS84 point (lowest id on a shared edge)."""
    grid_id = session.execute(
        text("SELECT id FROM gridgov_small_grid_at(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))"),
        {"lon": lon, "lat": lat},
    ).scalar()
    if grid_id is None:
        raise GridNotFoundError(f"no grid covers lon {lon}, lat {lat} (WGS84)", where="lon,lat")
    return session.get_one(Grid, grid_id)


def find_grid(session: Session, code: str) -> Grid | None:
    """The current grid with this 15-digit code, if any."""
    return session.scalars(select(Grid).where(Grid.code == code, Grid.valid_to.is_(None))).first()


def count_current(session: Session, level: str, area: str) -> int:
    """How many current grids of a level lie in an area (grid-code prefix)."""
    return session.execute(
        text(f"SELECT count(*) FROM grids WHERE level = :level AND valid_to IS NULL AND {in_area('code')}"),
        {"level": level, **area_range(area)},
    ).scalar_one()


def reassign_events(session: Session) -> int:
    """Put every event in the current small grid covering it (lowest id on edges); return how many changed.

    Runs without a statement timeout and with its own planner settings and parallel workers; the
    caller's settings are restored afterwards, for the rest of its transaction.
    """
    saved = _set_local(session, _JOIN_SETTINGS | {"max_parallel_workers_per_gather": None})
    allow_parallel(session, _REASSIGN_WORKERS)
    changed = _move_suspects(session)
    session.execute(text(f"DROP TABLE IF EXISTS {_TEMP_TABLES}"))
    _set_local(session, saved)
    return changed


def _move_suspects(session: Session) -> int:
    """Find the events that may lie in another grid now, the best grid of each (few: directly; many:
    through a cell index), and move them; how many moved."""
    suspects = session.execute(_SUSPECTS).rowcount
    if not suspects:
        return 0
    if suspects <= FEW_SUSPECTS:
        session.execute(_BEST_OF_FEW)
    else:
        session.execute(text("ANALYZE gridgov_reassign_suspects"))
        session.execute(_FOUND, {"cell": max(session.execute(_CELL_SIZE).scalar() or 1.0, 1e-6)})
        session.execute(_BEST_OF_MANY)
    # Statistics, or the planner takes the temporary table for 1,000s of rows whatever it holds.
    session.execute(text("ANALYZE gridgov_reassign_best"))
    return int(session.execute(_APPLY).rowcount)


def refresh_all_cores(session: Session) -> None:
    """Recompute the core of every current small grid (migration 0018) in one statement: what a bulk
    loader that deferred the core triggers (gridgov.cores_deferred) runs at the end."""
    session.execute(_REFRESH_ALL_CORES)


_REFRESH_ALL_CORES = text(
    "SELECT gridgov_refresh_cores(array_agg(id)) FROM grids WHERE level = 'grid' AND valid_to IS NULL"
)


def refresh_all_neighbours(session: Session) -> None:
    """Recompute which current small grids touch (grid_neighbours, migration 0060) in one statement: what
    a bulk loader that deferred the grid triggers (gridgov.cores_deferred) runs at the end."""
    session.execute(_REFRESH_ALL_NEIGHBOURS)


_REFRESH_ALL_NEIGHBOURS = text(
    "SELECT gridgov_refresh_neighbours(array_agg(code)) FROM grids WHERE level = 'grid' AND valid_to IS NULL"
)

_TEMP_TABLES = "gridgov_reassign_suspects, gridgov_reassign_found, gridgov_reassign_best"

# Most events keep their grid, and one point-in-polygon test against the core of their own grid
# (grid_cores, migration 0018: the grid less a 0.1 mm margin and its overlaps with lower ids) proves
# it: 1.5 M tests in a parallel hash join with 120 k cores take ~1.2 s at province scale. The rest
# (on an edge, in an overlap, in a retired or reshaped grid, none, or a stale code) are suspects.
# The planner cannot tell how few rows pass the point-in-polygon test and would rather not send them
# through a Gather: hence the low parallel_tuple_cost in _JOIN_SETTINGS (else this is serial, 2.4-3 s).
_SUSPECTS = text("""
CREATE TEMP TABLE gridgov_reassign_suspects ON COMMIT DROP AS
SELECT e.id, e.geom FROM events e LEFT JOIN grid_cores c ON c.grid_id = e.grid_id
WHERE c.grid_id IS NULL OR e.grid_code IS DISTINCT FROM c.code OR NOT _ST_Intersects(c.geom, e.geom)
""")

# Suspects get the lowest id among the current small grids covering them (NULL: none), ordered by id,
# so that a mass update walks the heap in order: in random order it is three times slower (each
# checkpoint then costs a full-page image per page touched again). A few take the rule of the insert
# trigger (gridgov_small_grid_at, a GiST probe of ~50 µs: 0.5 s for 10,000). After a re-gridding they
# can be most of the province: then a parallel hash join on a raster (~4 s, it lists every grid's cells).
FEW_SUSPECTS = 10_000
_BEST_OF_FEW = text("""
CREATE TEMP TABLE gridgov_reassign_best ON COMMIT DROP AS
SELECT s.id AS event_id, r.id AS grid_id
FROM gridgov_reassign_suspects s LEFT JOIN LATERAL gridgov_small_grid_at(s.geom) r ON true
ORDER BY s.id
""")
# The raster: each current small grid lists the cells of side `cell` its box touches (gridgov_cells,
# ~10 a grid) and each suspect lies in one cell (floor(x / cell), floor(y / cell)): the suspects go
# into a hash on their cell, the grids probe it, and consecutive ST_Covers tests share one polygon,
# which PostGIS prepares once. _ST_Covers is ST_Covers without its index support function, which
# could turn the plan back into a GiST probe per cell.
_CELLS = "grids g CROSS JOIN LATERAL gridgov_cells(g.geom::box2d, :cell) c"
_CELL_OF_SUSPECT = "c.cx = floor(ST_X(s.geom) / :cell)::bigint AND c.cy = floor(ST_Y(s.geom) / :cell)::bigint"
_FOUND = text(f"""
CREATE TEMP TABLE gridgov_reassign_found ON COMMIT DROP AS
SELECT s.id AS event_id, min(g.id) AS grid_id
FROM ({_CELLS}) JOIN gridgov_reassign_suspects s ON {_CELL_OF_SUSPECT} AND _ST_Covers(g.geom, s.geom)
WHERE g.level = 'grid' AND g.valid_to IS NULL
GROUP BY s.id
""")
_BEST_OF_MANY = text("""
CREATE TEMP TABLE gridgov_reassign_best ON COMMIT DROP AS
SELECT s.id AS event_id, f.grid_id FROM gridgov_reassign_suspects s
LEFT JOIN gridgov_reassign_found f ON f.event_id = s.id
ORDER BY s.id
""")
_APPLY = text("""
UPDATE events e SET grid_id = b.grid_id, grid_code = g.code
FROM gridgov_reassign_best b LEFT JOIN grids g ON g.id = b.grid_id
WHERE e.id = b.event_id AND (e.grid_id IS DISTINCT FROM b.grid_id OR e.grid_code IS DISTINCT FROM g.code)
""")

# The cell side: half the mean box side of (a sample of) the small grids, so a grid spans ~3 cells
# each way and an event's cell meets ~5 grid boxes. Where sizes are very mixed (dense towns, wide
# countryside) that could make a great many cells, so the cells of the whole extent are capped at
# ~64 per grid (from the planner's statistics, when ANALYZE has run).
_CELL_SIZE = text("""
SELECT greatest(
    (SELECT avg(ST_XMax(b) - ST_XMin(b) + ST_YMax(b) - ST_YMin(b)) / 4
     FROM (SELECT geom::box2d AS b FROM grids WHERE level = 'grid' AND valid_to IS NULL LIMIT 1000) s),
    CASE WHEN EXISTS (SELECT 1 FROM pg_stats WHERE tablename = 'grids' AND attname = 'geom') THEN
        (SELECT sqrt((ST_XMax(x) - ST_XMin(x)) * (ST_YMax(x) - ST_YMin(x)) / greatest(c.reltuples, 1) / 64)
         FROM pg_class c, ST_EstimatedExtent('grids', 'geom') x WHERE c.oid = 'grids'::regclass)
    END)
""")

# The planner gets these joins wrong on its own (a merge join, or GiST probes): join_collapse_limit
# keeps the written order (events, then the cores; grids and their cells, then the suspects), and with
# no merge joins and no sorts (but the ORDER BY of the best grids) what is left is hash joins and hash
# aggregates. A hash of every event
# (~120 MB at province scale, when all are suspects) fits in work_mem, in one batch. The leader runs
# its share of the join too: on two cores, two workers were no faster than one.
_REASSIGN_WORKERS = max((os.cpu_count() or 2) - 1, 1)
_JOIN_SETTINGS = {
    "statement_timeout": "0",
    "join_collapse_limit": "1",
    "enable_mergejoin": "off",
    "enable_sort": "off",
    "jit": "off",
    "work_mem": "256MB",
    "parallel_tuple_cost": "0.001",
}


_CURRENT_SETTINGS = text("SELECT name, current_setting(name) FROM unnest(CAST(:names AS text[])) AS name")


def _set_local(session: Session, settings: dict[str, str | None]) -> dict[str, str]:
    """SET LOCAL the given settings (None: leave as is); return what they were before."""
    before = session.execute(_CURRENT_SETTINGS, {"names": list(settings)}).all()
    for name, value in settings.items():
        if value is not None:
            session.execute(text("SELECT set_config(:name, :value, true)"), {"name": name, "value": value})
    return dict(before)


# Small grids and townships of an area, simplified to about 50 m: enough for a printed A4 map.
_MAP_SHAPES = text(f"""
SELECT code, level, ST_SimplifyPreserveTopology(geom, :tolerance) AS geom FROM grids
WHERE valid_to IS NULL AND level = ANY(:levels) AND {in_area("code")}
""")


def map_shapes(session: Session, area: str) -> Any:
    """The current small grids and townships of an area as a GeoDataFrame (code, level, geom); for a
    province or a city (2 or 4 digits) its counties and cities instead (120,000 grids draw no map)."""
    import geopandas as gpd

    wide = len(area) <= 4
    params = {
        **area_range(area),
        "levels": ["county", "city"] if wide else ["grid", "township"],
        "tolerance": 0.002 if wide else 0.0005,
    }
    return gpd.read_postgis(_MAP_SHAPES, session.connection(), geom_col="geom", params=params)


def area_name(session: Session, area: str) -> str:
    """The name of the county, township or village an area prefix stands for (the prefix if none)."""
    name = session.execute(
        text("SELECT name FROM grids WHERE code = rpad(:a, 15, '0') AND valid_to IS NULL"), {"a": area}
    ).scalar()
    return name or area


# The area's own boundary (its row: the prefix padded with zeros), simplified for drawing.
_OUTLINE = text("""
SELECT ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, :tolerance), 4) FROM grids
WHERE valid_to IS NULL AND code = rpad(:area, 15, '0')
""")


def find_area_outline(session: Session, area: str, tolerance_deg: float = 0.0002) -> str | None:
    """The GeoJSON geometry (text, WGS84) of the area's own boundary, or None when it has no row."""
    return session.execute(_OUTLINE, {"area": area, "tolerance": tolerance_deg}).scalar()
