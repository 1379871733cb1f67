"""Questions about the grid hierarchy: where a point falls, and whether grids nest."""

import os

from sqlalchemy import bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import BigInteger

from geo.db import allow_parallel
from geo.errors import GridNotFoundError, NestingError
from geo.models import Grid, format_code

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


def check_nesting(session: Session, grid_ids: list[int] | None = None, *, tolerance_m2: float = 1.0) -> None:
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


def find_county(session: Session, county_code: str) -> Grid | None:
    """The current county grid of a 6-digit adcode, if any."""
    return find_grid(session, county_code + "000000000")


def count_current(session: Session, level: str, area: str = "") -> int:
    """How many current grids of a level lie in an area (grid-code prefix)."""
    return session.execute(
        text("SELECT count(*) FROM grids WHERE level = :level AND valid_to IS NULL AND code LIKE :prefix"),
        {"level": level, "prefix": area + "%"},
    ).scalar_one()


# Re-assigning events joins every event with the current small grids. A GiST probe costs 40-60 µs
# here whichever side drives it (1.5 M events or 120 k grids at province scale), and the probe of a
# grid then fetches its ~24 candidate events from as many scattered heap pages: 17-26 s serially,
# ~49 s in parallel from the points. So the join is a parallel hash join on a raster instead: each
# current small grid lists the cells of side `cell` its box touches (gridgov_cells, ~10 a grid), and
# each event lies in one cell (floor(x / cell), floor(y / cell)). The events are read once, in heap
# order, into a shared hash on their cell; the grids probe it with their cells, so consecutive
# ST_Covers tests share one polygon, which PostGIS prepares once. Physical order no longer matters.
#
# Most events keep their grid, so _CHECK tests an event only against its own grid and lower ids: it
# moves only if its grid no longer covers it, or a lower id covers it too (a shared edge). _CHECK
# returns three counts (one snapshot): events their own grid covers, lower grids covering an event
# (or any grid covering an event without one), events with a grid. All clean: nothing to do. Else
# _LOWER lists those lower grids and, when the first and last counts differ (a grid was retired or
# reshaped, grid_id was written by hand), _LOST the events that lost their grid and every grid
# covering them. An event takes the lowest id found; uncovered ones get NULL.
_CELLS = "grids g CROSS JOIN LATERAL gridgov_cells(g.geom::box2d, :cell) c"
_CELL_OF_EVENT = "c.cx = floor(ST_X(e.geom) / :cell)::bigint AND c.cy = floor(ST_Y(e.geom) / :cell)::bigint"
_SMALL = "g.level = 'grid' AND g.valid_to IS NULL"

# _ST_Covers is ST_Covers without the index support function: with it the planner may turn the
# hash join back into one GiST probe per grid cell. The LEFT JOINs keep the events on the hashed
# side: PostgreSQL 15 only runs a left join in parallel by hashing its inner side (the grid cells,
# with their polygons, would make a hash four times the size, and every ST_Covers a cold one).
_CHECK = text(f"""
SELECT j.covered, j.lower, a.assigned FROM (
    SELECT count(e.id) FILTER (WHERE g.id = e.grid_id) AS covered,
           count(e.id) FILTER (WHERE g.id < e.grid_id OR e.grid_id IS NULL) AS lower
    FROM ({_CELLS}) LEFT JOIN events e ON {_CELL_OF_EVENT}
        AND (g.id <= e.grid_id OR e.grid_id IS NULL) AND _ST_Covers(g.geom, e.geom)
    WHERE {_SMALL}) j,
    (SELECT count(grid_id) AS assigned FROM events) a
""")
# (One row of each result has event_id NULL: the cells that matched no event.)
_LOWER = text(f"""
CREATE TEMP TABLE gridgov_reassign_lower ON COMMIT DROP AS
SELECT e.id AS event_id, min(g.id) AS grid_id FROM ({_CELLS}) LEFT JOIN events e ON {_CELL_OF_EVENT}
    AND (g.id < e.grid_id OR e.grid_id IS NULL) AND _ST_Covers(g.geom, e.geom)
WHERE {_SMALL} GROUP BY e.id
""")
_LOST_EVENTS = """(SELECT e.id, e.geom FROM events e
    LEFT JOIN grids o ON o.id = e.grid_id AND o.level = 'grid' AND o.valid_to IS NULL
    WHERE e.grid_id IS NOT NULL AND NOT coalesce(_ST_Covers(o.geom, e.geom), false))"""
_LOST = f"""
CREATE TEMP TABLE gridgov_reassign_lost ON COMMIT DROP AS
SELECT l.id AS event_id, NULL::bigint AS grid_id FROM {_LOST_EVENTS} l
UNION ALL
SELECT e.id, min(g.id) FROM ({_CELLS}) LEFT JOIN {_LOST_EVENTS} e ON {_CELL_OF_EVENT}
    AND _ST_Covers(g.geom, e.geom)
WHERE {_SMALL} GROUP BY e.id
"""
_BEST = text("""
CREATE TEMP TABLE gridgov_reassign_best ON COMMIT DROP AS
SELECT event_id, min(grid_id) AS grid_id FROM (
    SELECT event_id, grid_id FROM gridgov_reassign_lower
    UNION ALL SELECT event_id, grid_id FROM gridgov_reassign_lost) found
WHERE event_id IS NOT NULL
GROUP BY event_id
ORDER BY event_id
""")
_APPLY = text("""
UPDATE events e SET grid_id = b.grid_id, grid_code = g.code
FROM gridgov_reassign_best b LEFT JOIN grids g ON g.id = b.grid_id
WHERE e.id = b.event_id AND e.grid_id IS DISTINCT FROM b.grid_id
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

# The planner gets this join wrong on its own (a merge join, or GiST probes): join_collapse_limit
# keeps the written order (grids and their cells, then events), and with no merge joins and no
# sorts what is left is the hash join and hash aggregates. The hash of all events (~120 MB at
# province scale) fits in work_mem, in one batch. The leader runs its share of the join too: on
# two cores, two workers were no faster than one.
_REASSIGN_WORKERS = max((os.cpu_count() or 2) - 1, 1)
_JOIN_SETTINGS = {
    "statement_timeout": "0",
    "join_collapse_limit": "1",
    "enable_mergejoin": "off",
    "enable_sort": "off",
    "jit": "off",
    "work_mem": "256MB",
}


def reassign_events(session: Session) -> int:
    """Put every event in the current small grid covering it (lowest id on edges); return how many changed.

    Runs without a statement timeout and with its own planner settings and parallel workers; the
    caller's settings are restored afterwards, for the rest of its transaction.
    """
    saved = _set_local(session, _JOIN_SETTINGS | {"max_parallel_workers_per_gather": None})
    allow_parallel(session, _REASSIGN_WORKERS)
    params = {"cell": max(session.execute(_CELL_SIZE).scalar() or 1.0, 1e-6)}
    covered, lower, assigned = session.execute(_CHECK, params).one()
    changed = _fix(session, params, lost=covered != assigned) if lower or covered != assigned else 0
    _set_local(session, saved)
    return changed


def _fix(session: Session, params: dict, *, lost: bool) -> int:
    """List the lower grids covering events (all grids, for events that lost theirs); apply the lowest."""
    tables = "gridgov_reassign_lower, gridgov_reassign_lost, gridgov_reassign_best"
    session.execute(text(f"DROP TABLE IF EXISTS {tables}"))
    session.execute(_LOWER, params)
    session.execute(text(_LOST if lost else _LOST + " WITH NO DATA"), params)
    session.execute(_BEST)
    # A table with statistics, because the planner takes a grouped union for 200 rows and updates
    # them one index probe at a time, in random order; ordered by id (~ heap order), so that a mass
    # update walks the heap in order: random order is three times slower (300 s vs 110 s when every
    # province event changes: each checkpoint then costs a full-page image per page touched again).
    session.execute(text("ANALYZE gridgov_reassign_best"))
    changed = session.execute(_APPLY).rowcount
    session.execute(text(f"DROP TABLE {tables}"))
    return changed


_CURRENT_SETTINGS = text("SELECT name, current_setting(name) FROM unnest(CAST(:names AS text[])) AS name")


def _set_local(session: Session, settings: dict[str, str | None]) -> dict[str, str]:
    """SET LOCAL the given settings (None: leave as is); return what they were before."""
    before = session.execute(_CURRENT_SETTINGS, {"names": list(settings)}).all()
    for name, value in settings.items():
        if value is not None:
            session.execute(text("SELECT set_config(:name, :value, true)"), {"name": name, "value": value})
    return dict(before)
