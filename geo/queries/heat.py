"""Heat cells behind the Folium heatmaps: cells fitted under a cap, weekly cells, pre-aggregated sums.

Heatmaps never ship raw points: events are binned in PostGIS into square cells (floor of lon/lat over
the cell size, the same partition as ST_SquareGrid in EPSG:4326) and each cell becomes one weighted
point at the mean position of its events. The cell size follows the zoom, and doubles until the
number of cells fits the cap, so a page stays small at any data volume.

Which events count is geo.queries.event_filter; the extent, zoom and cell per zoom are geo.queries.mapview.
"""

import json
import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.db.engine import local_work_mem
from geo.queries.area import key_range
from geo.queries.event_filter import FILTER_ARRAYS, FILTER_WHERE, EventFilter
from geo.queries.layers import CELL_LEVELS, CELL_TILE_SHIFT

# Widths an event-reading cell query tries in its one pass: 1, 2, 4 ... 2^_MAX_SHIFT times its cell.
_MAX_SHIFT = 6
HEAT_WORK_MEM_MB = 32  # a county year of cells hashes in ~10 MB; bigger spills to disk, slower not wrong


@dataclass(frozen=True)
class FittedCells:
    """Heat cells as one JSON text of arrays straight from PostGIS (the page path never parses it):
    [lon, lat, count], or ["YYYY-MM-DD" Monday, lon, lat, count] per week; their number, the events
    they hold, and the cell width in degrees."""

    json: str
    cells: int
    events: int
    cell_deg: float

    def rows(self) -> list[list[Any]]:
        """The cells as Python lists."""
        return list(json.loads(self.json))


# Raw SQL: a GROUP BY over computed cell indices, which the ORM would only obscure. One pass over the
# events bins them into `fine` cells of :cell degrees (sums of positions and counts); the first shift s
# (0..:max_shift) at which cells 2^s times as wide number at most :max_cells is found by counting the
# fine cells' parents, smallest first (the LIMIT stops at the first that fits), and the cells are summed
# at that width: one read of the events however many widths are tried (each used to be a pass of its
# own: the weekly county appeals read 104,000 rows twice). Floor then shift is the floor at the wider
# width, so the partition is the same as binning at that width directly. Each cell sits at the mean
# position of its events rounded to 1e-5 degrees (about a metre), in float arithmetic: a numeric round
# per cell, and numeric sums of counts, made 40,000 cells cost 150 ms. The cells come back as one JSON
# text (parsing one string is far cheaper than fetching thousands of rows), in no particular order. No
# shift fits: no cells, and `cells` counts them at the widest width tried. `week` adds a leading Monday
# (in the county's zone) to each cell: {week_col} and {w} are filled in by _cells_sql.
_CELLS_SQL = f"""
WITH fine AS MATERIALIZED (
    SELECT {{week_col}} floor(ST_X(e.geom) / :cell)::bigint AS cx, floor(ST_Y(e.geom) / :cell)::bigint AS cy,
           count(*) AS n, sum(ST_X(e.geom)) AS sx, sum(ST_Y(e.geom)) AS sy
    FROM events e {FILTER_WHERE}
    GROUP BY {{w}} cx, cy
), pick AS MATERIALIZED (
    SELECT s FROM generate_series(0, :max_shift) AS s
    WHERE (SELECT count(*) FROM (SELECT DISTINCT {{w}} cx >> s, cy >> s FROM fine) AS parents) <= :max_cells
    LIMIT 1
), cells AS MATERIALIZED (
    SELECT {{w}} round(sum(sx) / sum(n) * 1e5) / 1e5 AS lon, round(sum(sy) / sum(n) * 1e5) / 1e5 AS lat,
           sum(n) AS n
    FROM fine
    GROUP BY {{w}} cx >> (SELECT s FROM pick), cy >> (SELECT s FROM pick)
)
SELECT (SELECT s FROM pick) AS shift,
       CASE WHEN EXISTS (SELECT FROM pick) THEN (SELECT count(*) FROM cells)
            ELSE (SELECT count(*) FROM (SELECT DISTINCT {{w}} cx >> :max_shift, cy >> :max_shift
                                        FROM fine) AS widest)
       END AS cells,
       CASE WHEN EXISTS (SELECT FROM pick)
            THEN (SELECT coalesce(json_agg(json_build_array({{w}} lon, lat, n)), '[]')::text FROM cells)
       END AS data,
       CASE WHEN EXISTS (SELECT FROM pick) THEN (SELECT coalesce(sum(n), 0) FROM cells) END AS events
"""


def _cells_sql(week: bool) -> Any:
    """The cell query, optionally per week; identifiers are constants, values are bound."""
    week_col = (
        "(date_trunc('week', e.reported_at AT TIME ZONE CAST(:tz AS text)))::date AS week," if week else ""
    )
    w = "week," if week else ""
    return text(_CELLS_SQL.format(week_col=week_col, w=w)).bindparams(*FILTER_ARRAYS)


_CELLS = _cells_sql(week=False)
_WEEKLY = _cells_sql(week=True)


def _fitted(row: Any, cell_deg: float) -> FittedCells | None:
    """The cells of a cell query's row, or None when there were too many."""
    if row.data is None:
        return None
    return FittedCells(row.data, int(row.cells), int(row.events), cell_deg)


def _cells(
    session: Session, sql: Any, area: str, flt: EventFilter, cell_deg: float, max_cells: int
) -> tuple[int, float, FittedCells | None]:
    """Run a cell query from `cell_deg` up to 2^_MAX_SHIFT times as wide: the number of cells, the
    width they were counted at, and the cells when at most `max_cells` (else None, counted widest)."""
    # Per-cell sums hash in memory instead of sorting on disk (104,000 events spilled 6 MB at 4 MB).
    local_work_mem(session, HEAT_WORK_MEM_MB)
    params = {**flt.params(area), "cell": cell_deg, "max_cells": max_cells, "max_shift": _MAX_SHIFT}
    row = session.execute(sql, params).one()
    if row.shift is None:
        return int(row.cells), cell_deg * 2**_MAX_SHIFT, None
    width = cell_deg * 2**row.shift
    return int(row.cells), width, _fitted(row, width)


# An unfiltered heatmap sums the pre-aggregated cells of migration 0013 instead of reading every event
# (province appeals: 1.3 M rows). Those are Web Mercator cells, 360 / 2^(zc + 6) degrees of longitude
# wide at zoom-level zc (a level's cells >> shift are the cells of level - shift); the position is the
# mean of the events' Mercator coordinates, turned back into lon/lat. Same output as _cells. The area
# is a code range, not LIKE, so that the primary key (kind, z, village_code, ...) reads only its cells:
# level 11 holds 1.2 M rows at province scale. The JSON and the sum are subqueries, so PostgreSQL builds
# them only when the count fits (an InitPlan runs when first needed): an oversized try (zoom 12 over a
# county: 35,000 cells) costs the count, not the JSON. The cells come in no particular order: sorting
# them into the aggregate cost half the JSON's time, and a heat layer adds up its points in any order.
_SUMS = text("""
WITH cells AS MATERIALIZED (
    SELECT round(sum(sx) / sum(n::int) * (360.0 / 40075016.68557849) * 1e5) / 1e5 AS lon,
           round(degrees(2 * atan(exp(sum(sy) / sum(n::int) / 6378137.0)) - pi() / 2) * 1e5) / 1e5 AS lat,
           sum(n::int) AS n
    FROM event_cells
    WHERE kind = :kind AND z = :level AND village_code >= :lo AND village_code < :hi AND n > 0
    GROUP BY cx >> :shift, cy >> :shift
)
SELECT (SELECT count(*) FROM cells) AS cells,
       CASE WHEN (SELECT count(*) FROM cells) <= :max_cells
            THEN (SELECT coalesce(json_agg(json_build_array(lon, lat, n)), '[]')::text FROM cells)
       END AS data,
       CASE WHEN (SELECT count(*) FROM cells) <= :max_cells THEN (SELECT coalesce(sum(n), 0) FROM cells)
       END AS events
""")


def presummed_level(flt: EventFilter, cell_deg: float) -> tuple[int, int, float] | None:
    """(level, shift, cell width in degrees) of pre-aggregated cells at least `cell_deg` wide (the
    next power of two), or None when they cannot answer: a filter is set, or the cell is finer than
    the finest level (or coarser than 64 cells around the world)."""
    if flt.since or flt.until or flt.categories or flt.statuses:
        return None
    zc = math.floor(math.log2(360.0 / cell_deg)) - CELL_TILE_SHIFT
    level = min((lv for lv in CELL_LEVELS if lv >= zc), default=None)
    if level is None or zc < 0:  # finer than the finest level, or coarser than a world of 64 cells
        return None
    return level, level - zc, 360.0 / 2 ** (zc + CELL_TILE_SHIFT)


def _summed(
    session: Session, area: str, flt: EventFilter, summed: tuple[int, int, float], max_cells: int
) -> tuple[int, FittedCells | None]:
    level, shift, cell_deg = summed
    params = {"kind": flt.kind, **key_range(area), "level": level, "shift": shift}  # its primary key
    row = session.execute(_SUMS, {**params, "max_cells": max_cells}).one()
    return int(row.cells), _fitted(row, cell_deg)


def start_cell(cell_deg: float, max_cells: int, extent: tuple[float, float, float, float] | None) -> float:
    """The first cell size worth trying: `cell_deg`, or half the cell that tiles `extent` in `max_cells`.

    A finer start only builds (and throws away) more cells: at province scale zoom 12 is ~1M cells.
    Half the even-tiling size keeps the first try near the cap, so one or two passes run.
    """
    if extent is None:
        return cell_deg
    minx, miny, maxx, maxy = extent
    return max(cell_deg, math.sqrt(max(maxx - minx, 0.0) * max(maxy - miny, 0.0) / max(max_cells, 1)) / 2)


def _fit(
    session: Session,
    sql: Any,
    area: str,
    flt: EventFilter,
    cell_deg: float,
    max_cells: int,
    extent: tuple[float, float, float, float] | None = None,
) -> FittedCells:
    """Cells, growing the cell by powers of two until at most `max_cells` come back.

    The search starts at start_cell (given the area's extent); a cell wider than the world always fits.
    """
    cell_deg = start_cell(cell_deg, max_cells, extent)
    n, cell_deg, cells = _try_cells(session, sql, area, flt, cell_deg, max_cells)
    # 360 degrees and more cannot happen (a world-wide cell holds everything in one): no endless loop.
    while cells is None and cell_deg < 360:
        cell_deg = _grown(cell_deg, n, max_cells)
        n, cell_deg, cells = _try_cells(session, sql, area, flt, cell_deg, max_cells)
    return cells if cells is not None else FittedCells("[]", 0, 0, cell_deg)


def _grown(cell_deg: float, n: int, max_cells: int) -> float:
    """The next cell to try after `n` cells came back: cell counts shrink roughly with the square of
    the cell size, so the jump (a power of two, at least 2) is estimated from the overshoot (usually
    one retry)."""
    return cell_deg * 2 ** max(1, math.ceil(math.log2(math.sqrt(n / max(max_cells, 1)))))


def _try_cells(
    session: Session, sql: Any, area: str, flt: EventFilter, cell_deg: float, max_cells: int
) -> tuple[int, float, FittedCells | None]:
    """One try at `cell_deg` (see _cells): from the pre-aggregated cells when they can answer (plain
    heat cells without a filter), else from the events."""
    summed = presummed_level(flt, cell_deg) if sql is _CELLS else None
    if summed is None:
        return _cells(session, sql, area, flt, cell_deg, max_cells)
    n, cells = _summed(session, area, flt, summed, max_cells)
    return n, summed[2], cells


def list_heat_cells(session: Session, area: str, flt: EventFilter, cell_deg: float) -> list[list[float]]:
    """[lon, lat, count] per non-empty square cell of `cell_deg` degrees."""
    cells = _cells(session, _CELLS, area, flt, cell_deg, 2**31 - 1)[2]
    return cells.rows() if cells else []


def fit_heat_cells(
    session: Session,
    area: str,
    flt: EventFilter,
    cell_deg: float,
    max_cells: int,
    extent: tuple[float, float, float, float] | None = None,
) -> FittedCells:
    """Heat cells ([lon, lat, count]) of at least `cell_deg` degrees, at most `max_cells` of them."""
    return _fit(session, _CELLS, area, flt, cell_deg, max_cells, extent)


def fit_weekly_cells(
    session: Session,
    area: str,
    flt: EventFilter,
    cell_deg: float,
    max_cells: int,
    extent: tuple[float, float, float, float] | None = None,
) -> FittedCells:
    """Weekly cells (["YYYY-MM-DD" Monday, lon, lat, count]), at most `max_cells` over all weeks."""
    return _fit(session, _WEEKLY, area, flt, cell_deg, max_cells, extent)
