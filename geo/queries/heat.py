"""Aggregations behind the Folium maps: heat cells, weekly heat cells, and the rows the county map draws.

Heatmaps never ship raw points: events are binned in PostGIS into square cells (floor of lon/lat over
the cell size, the same partition as ST_SquareGrid in EPSG:4326) and each cell becomes one weighted
point at the mean position of its events. The cell size follows the zoom, and doubles until the
number of cells fits the cap, so a page stays small at any data volume.

Every query is restricted to the requester's area: rows whose grid_code starts with `area`.
Coordinates are WGS84 lon/lat (EPSG:4326); the map layer swaps them for Leaflet.
"""

import json
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import Text

from geo import clock
from geo.accounts import code_range
from geo.db.engine import local_work_mem
from geo.errors import InvalidInputError
from geo.models import EVENT_STATUSES
from geo.queries import figures
from geo.queries.layers import CELL_LEVELS, CELL_TILE_SHIFT

EVENT_LAYERS = {"disputes": "dispute", "hazards": "hazard", "appeals": "appeal"}
MIN_ZOOM, MAX_ZOOM = 3, 18


@dataclass(frozen=True)
class EventFilter:
    """Which events a heatmap counts: one kind, a local-date range (inclusive), categories, statuses."""

    kind: str
    since: date | None = None
    until: date | None = None
    categories: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()

    def params(self, area: str) -> dict[str, Any]:
        """Bound parameters of the filter; dates become [since 00:00, until+1 00:00) in the county's zone."""
        start = clock.midnight(self.since) if self.since else None
        end = clock.midnight(self.until + timedelta(days=1)) if self.until else None
        return {
            "tz": clock.zone().key,
            "kind": self.kind,
            "area_like": area_like(area),
            "since": start,
            "until": end,
            "cats": list(self.categories) or None,
            "sts": list(self.statuses) or None,
        }


def area_like(area: str) -> str:
    """The LIKE pattern of an area (grid-code prefix); refuses anything but digits."""
    if not area.isdigit() or len(area) > 15:
        raise InvalidInputError(f"area must be a grid-code prefix of digits; got {area!r}", where="area")
    return area + "%"


def _parse_date(value: str | None, name: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInputError(f"{name} must be a date YYYY-MM-DD; got {value!r}", where=name) from None


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


def parse_event_filter(
    session: Session,
    layer: str,
    since: str | None = None,
    until: str | None = None,
    category: str | None = None,
    status: str | None = None,
) -> EventFilter:
    """Check heatmap parameters (raising InvalidInputError naming the field) and build the filter."""
    if layer not in EVENT_LAYERS:
        raise InvalidInputError(
            f"layer must be one of {', '.join(EVENT_LAYERS)}; got {layer!r}", where="layer"
        )
    kind = EVENT_LAYERS[layer]
    start, end = _parse_date(since, "from"), _parse_date(until, "to")
    if start and end and start > end:
        raise InvalidInputError(f"from ({start}) is after to ({end})", where="from")
    cats, sts = _split(category), _split(status)
    known = set(list_category_codes(session, kind))
    if bad := [c for c in cats if c not in known]:
        raise InvalidInputError(
            f"unknown {kind} category {bad[0]!r}; known: {', '.join(sorted(known))}", where="category"
        )
    if bad := [s for s in sts if s not in EVENT_STATUSES]:
        raise InvalidInputError(
            f"unknown status {bad[0]!r}; known: {', '.join(EVENT_STATUSES)}", where="status"
        )
    return EventFilter(kind, start, end, cats, sts)


def list_category_codes(session: Session, kind: str) -> list[str]:
    """Category codes of one event kind."""
    rows = session.execute(
        text("SELECT code FROM categories WHERE kind = :k ORDER BY sort_order"), {"k": kind}
    )
    return [r[0] for r in rows]


def list_category_labels(session: Session) -> dict[str, str]:
    """Chinese label of every category code."""
    return dict(session.execute(text("SELECT code, label_zh FROM categories")).all())


_WHERE = """
WHERE e.kind = :kind AND e.grid_code LIKE :area_like
  AND (CAST(:since AS timestamptz) IS NULL OR e.reported_at >= CAST(:since AS timestamptz))
  AND (CAST(:until AS timestamptz) IS NULL OR e.reported_at < CAST(:until AS timestamptz))
  AND (CAST(:cats AS text[]) IS NULL OR e.category = ANY(CAST(:cats AS text[])))
  AND (CAST(:sts AS text[]) IS NULL OR e.status = ANY(CAST(:sts AS text[])))
"""
_ARRAYS = (bindparam("cats", type_=ARRAY(Text)), bindparam("sts", type_=ARRAY(Text)))


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
# (in the county's zone) to each cell.
def _cells_sql(week: bool) -> Any:
    """The cell query, optionally per week; identifiers are constants, values are bound."""
    week_col = (
        "(date_trunc('week', e.reported_at AT TIME ZONE CAST(:tz AS text)))::date AS week," if week else ""
    )
    w = "week," if week else ""
    return text(f"""
WITH fine AS MATERIALIZED (
    SELECT {week_col} floor(ST_X(e.geom) / :cell)::bigint AS cx, floor(ST_Y(e.geom) / :cell)::bigint AS cy,
           count(*) AS n, sum(ST_X(e.geom)) AS sx, sum(ST_Y(e.geom)) AS sy
    FROM events e {_WHERE}
    GROUP BY {w} cx, cy
), pick AS MATERIALIZED (
    SELECT s FROM generate_series(0, :max_shift) AS s
    WHERE (SELECT count(*) FROM (SELECT DISTINCT {w} cx >> s, cy >> s FROM fine) AS parents) <= :max_cells
    LIMIT 1
), cells AS MATERIALIZED (
    SELECT {w} round(sum(sx) / sum(n) * 1e5) / 1e5 AS lon, round(sum(sy) / sum(n) * 1e5) / 1e5 AS lat,
           sum(n) AS n
    FROM fine
    GROUP BY {w} cx >> (SELECT s FROM pick), cy >> (SELECT s FROM pick)
)
SELECT (SELECT s FROM pick) AS shift,
       CASE WHEN EXISTS (SELECT FROM pick) THEN (SELECT count(*) FROM cells)
            ELSE (SELECT count(*) FROM (SELECT DISTINCT {w} cx >> :max_shift, cy >> :max_shift
                                        FROM fine) AS widest)
       END AS cells,
       CASE WHEN EXISTS (SELECT FROM pick)
            THEN (SELECT coalesce(json_agg(json_build_array({w} lon, lat, n)), '[]')::text FROM cells)
       END AS data,
       CASE WHEN EXISTS (SELECT FROM pick) THEN (SELECT coalesce(sum(n), 0) FROM cells) END AS events
""").bindparams(*_ARRAYS)


_CELLS = _cells_sql(week=False)
_WEEKLY = _cells_sql(week=True)

_COUNT = text("SELECT count(*) FROM events e" + _WHERE).bindparams(*_ARRAYS)


def count_events(session: Session, area: str, flt: EventFilter) -> int:
    """Number of events matching the filter in the area."""
    return int(session.execute(_COUNT, flt.params(area)).scalar_one())


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
    lo, hi = code_range(area)
    params = {"kind": flt.kind, "lo": lo, "hi": hi, "level": level, "shift": shift}
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

    The search starts at start_cell (given the area's extent). Cell counts shrink roughly with the
    square of the cell size, so the jump is estimated from the overshoot (usually one retry); a cell
    wider than the world always fits.
    """
    cell_deg = start_cell(cell_deg, max_cells, extent)
    while True:
        summed = presummed_level(flt, cell_deg) if sql is _CELLS else None
        if summed is not None:
            cell_deg = summed[2]
            n, cells = _summed(session, area, flt, summed, max_cells)
        else:
            n, cell_deg, cells = _cells(session, sql, area, flt, cell_deg, max_cells)
        if cells is not None:
            return cells
        if cell_deg >= 360:  # cannot happen (a world-wide cell holds everything in one): no endless loop
            return FittedCells("[]", 0, 0, cell_deg)
        cell_deg *= 2 ** max(1, math.ceil(math.log2(math.sqrt(n / max(max_cells, 1)))))


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


# The area's extent is measured on its top level only: children lie within their parents
# (check_nesting), and an ST_Extent over every current grid of a province reads the whole table
# (200-300 ms, twice per heatmap page before). First the area's own row (the prefix padded with
# zeros: 62 -> the province 620000000000000, 620121003 -> that township), one index probe; when the
# area has no such row, the highest level present under the prefix (the BETWEEN lets the
# grids_current_code index narrow the scan; LIKE alone cannot under a non-C collation).
_OWN_EXTENT = text("""
SELECT ST_XMin(geom) AS minx, ST_YMin(geom) AS miny, ST_XMax(geom) AS maxx, ST_YMax(geom) AS maxy
FROM grids WHERE valid_to IS NULL AND code = rpad(:area, 15, '0')
""")
_EXTENT = text("""
WITH under AS (
    SELECT level, geom FROM grids
    WHERE valid_to IS NULL AND code BETWEEN rpad(:area, 15, '0') AND rpad(:area, 15, '9')
      AND code LIKE :area_like
), top AS (
    SELECT min(array_position(ARRAY['province', 'city', 'county', 'township', 'village', 'grid'], level)) AS r
    FROM under
)
SELECT ST_XMin(x) AS minx, ST_YMin(x) AS miny, ST_XMax(x) AS maxx, ST_YMax(x) AS maxy
FROM (SELECT ST_Extent(u.geom) AS x FROM under u, top
      WHERE array_position(ARRAY['province', 'city', 'county', 'township', 'village', 'grid'], u.level)
            <= greatest(top.r, 3)) s
""")


def get_area_extent(session: Session, area: str) -> tuple[float, float, float, float]:
    """Bounding box (minx, miny, maxx, maxy, EPSG:4326) of the current grids of an area."""
    params = {"area": area, "area_like": area_like(area)}
    row = session.execute(_OWN_EXTENT, params).one_or_none()
    if row is None:
        row = session.execute(_EXTENT, params).one()
    if row.minx is None:
        raise InvalidInputError(f"no grids in area {area}", where="area")
    return (row.minx, row.miny, row.maxx, row.maxy)


def fit_zoom(bbox: tuple[float, float, float, float], width_px: int = 1200, height_px: int = 800) -> int:
    """The web-mercator zoom at which a bbox fits a viewport of the given size."""
    minx, miny, maxx, maxy = bbox
    lat = math.radians((miny + maxy) / 2)
    wz = math.log2(width_px * 360 / (256 * max(maxx - minx, 1e-6)))
    hz = math.log2(height_px * 360 * math.cos(lat) / (256 * max(maxy - miny, 1e-6)))
    return max(MIN_ZOOM, min(MAX_ZOOM, math.floor(min(wz, hz))))


def cell_for_zoom(zoom: int, cell_px: int = 8) -> float:
    """Cell size in degrees that spans `cell_px` screen pixels (of longitude) at a zoom."""
    if not MIN_ZOOM <= zoom <= MAX_ZOOM:
        raise InvalidInputError(f"zoom must be {MIN_ZOOM}..{MAX_ZOOM}; got {zoom}", where="zoom")
    return 360.0 / float(2**zoom) / 256 * cell_px


# Open events plus those reported in the last :recent_days, newest first, at most :per_kind of each
# kind, with how many there are in all. Raw SQL: the UNION lets each half use its index (the
# partial events_open index, and events_kind_time), where an OR forces a scan of every event.
# Open cases plus every recent one, as two disjoint branches that carry their columns (UNION ALL: the
# second takes only recent cases that are no longer open). Picking ids and joining back to events read
# the whole table to fetch the columns (province: a 1.5 M-row scan, 1 s of the 3 s).
_MAP_EVENTS = text(f"""
WITH picked AS (
    SELECT e.id, e.kind, e.category, e.status, e.severity, e.reported_at, e.grid_code, e.geom
    FROM events e
    WHERE {figures.open_now("e", "CAST(:as_of AS timestamptz)")} AND e.grid_code LIKE :area_like
    UNION ALL
    SELECT e.id, e.kind, e.category, e.status, e.severity, e.reported_at, e.grid_code, e.geom
    FROM events e
    WHERE e.kind IN ('dispute', 'hazard', 'appeal') AND e.grid_code LIKE :area_like
      AND e.reported_at >= CAST(:as_of AS timestamptz) - make_interval(days => :recent_days)
      AND e.status IN {figures.FINAL}
), ranked AS (
    SELECT p.*,
           row_number() OVER (PARTITION BY p.kind ORDER BY p.reported_at DESC, p.id DESC) AS rank,
           count(*) OVER (PARTITION BY p.kind) AS total
    FROM picked p
)
SELECT id, kind, category, status, severity, reported_at, grid_code, total,
       round(ST_X(geom)::numeric, 4)::float8 AS lon, round(ST_Y(geom)::numeric, 4)::float8 AS lat
FROM ranked WHERE rank <= :per_kind ORDER BY kind, rank
""")


def list_map_events(
    session: Session, area: str, *, as_of: datetime, recent_days: int = 30, per_kind: int = 1000
) -> list[Any]:
    """Open and recent events, newest first, at most `per_kind` of each kind; `total` = all of that kind."""
    params = {"area_like": area_like(area), "as_of": as_of, "recent_days": recent_days, "per_kind": per_kind}
    return list(session.execute(_MAP_EVENTS, params))
