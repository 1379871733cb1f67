"""The spatial units of the analyses, their contiguity and what happened in them.

A unit is either the current small grids of an area (`grid`) or a hexagon tessellation over the area
(`hex`: ST_HexagonGrid in Web Mercator with the edge scaled by 1/cos(latitude), so `size_m` is close to
true metres; hexagons touching the area are kept). Contiguity comes from an index, never from a
self-join at analysis time: small grids from `grid_neighbours` (pairs that touch, kept current by
triggers on grids, migration 0060), hexagons from their lattice indices (i, j): a hexagon's six
neighbours are known by arithmetic, and a case's hexagon is the nearest lattice centre (hexagons are
the Voronoi cells of their centres). The weights matrix of an area is built once and kept per process
while the area's grids are unchanged. Counts per cell and time bin come from SQL. Cells are ordered by
key, so results are repeatable.
"""

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.analytics.stats import Weights, weights_from_pairs
from geo.errors import InvalidInputError
from geo.queries.area import area_range

UNITS = ("grid", "hex")
COUNTED = "e.status NOT IN ('rejected', 'duplicate')"
SQRT3 = 3.0**0.5

_GRID_CELLS = text("""
SELECT g.code::text AS cell, g.code::text AS grid_code, g.area_m2 / 1e6 AS km2, NULL::bytea AS wkb
FROM grids g
WHERE g.level = 'grid' AND g.valid_to IS NULL AND g.code ~>=~ :lo AND g.code ~<~ :hi
ORDER BY g.code
""")

# Arrays, not rows: a province has 351,521 pairs and 557,000 (cell, week) counts.
_GRID_PAIRS = text("""
SELECT coalesce(array_agg(a::text), '{}'), coalesce(array_agg(b::text), '{}') FROM grid_neighbours
WHERE a ~>=~ :lo AND a ~<~ :hi AND b ~>=~ :lo AND b ~<~ :hi AND a < b
""")

# The area as polygons in Web Mercator: its counties (a province or city), else its own grid.
_AREA_POLYGONS = """area_poly AS (
    SELECT g.code, ST_Transform(g.geom, 3857) AS g FROM grids g
    WHERE g.valid_to IS NULL AND (
        (length(:area) <= 6 AND g.level = 'county' AND g.code ~>=~ :lo AND g.code ~<~ :hi)
        OR (length(:area) > 6 AND g.code = rpad(:area, 15, '0') AND g.level <> 'county'))
), edge AS (
    SELECT :size / cos(radians(ST_Y(ST_Transform(ST_SetSRID(ST_Centroid(ST_Extent(g)::geometry), 3857),
                                                   4326)))) AS s
    FROM area_poly
)"""

# Hexagons touching the area; the edge length in Mercator metres comes back for the cases' lookup.
_HEX_CELLS = text(f"""
WITH {_AREA_POLYGONS}, hx AS (
    SELECT DISTINCT ON (h.i, h.j) h.i, h.j, h.geom, p.code
    FROM area_poly p, edge, ST_HexagonGrid(edge.s, p.g) h
    WHERE edge.s IS NOT NULL AND ST_Intersects(h.geom, p.g)
    ORDER BY h.i, h.j, p.code
)
SELECT hx.i, hx.j, ST_Area(ST_Transform(hx.geom, 4326)::geography) / 1e6 AS km2,
       ST_AsBinary(ST_Multi(ST_Transform(hx.geom, 4326))) AS wkb, edge.s, hx.code::text
FROM hx, edge
""")

_BIN = "floor(extract(epoch FROM e.reported_at - CAST(:start AS timestamptz)) / :bin_seconds)::int"
_EVENT_FILTER = f"""e.grid_code ~>=~ :lo AND e.grid_code ~<~ :hi AND e.kind = ANY(:kinds) AND {COUNTED}
      AND e.reported_at >= :start AND e.reported_at < :end"""

_GRID_HITS = text(f"""
SELECT coalesce(array_agg(cell), '{{}}'), coalesce(array_agg(bin), '{{}}'), coalesce(array_agg(n), '{{}}')
FROM (
    SELECT e.grid_code::text AS cell, {_BIN} AS bin, count(*)::int AS n FROM events e
    WHERE {_EVENT_FILTER}
    GROUP BY 1, 2) h
""")

_HEX_POINTS = text(f"""
SELECT coalesce(array_agg(ST_X(p)), '{{}}'), coalesce(array_agg(ST_Y(p)), '{{}}'),
       coalesce(array_agg(bin), '{{}}')
FROM (SELECT ST_Transform(e.geom, 3857) AS p, {_BIN} AS bin FROM events e WHERE {_EVENT_FILTER}) q
""")


@dataclass
class Cells:
    """The cells of an area in key order, with their base (km²), contiguity and counts per bin."""

    unit: str
    keys: list[str]
    grid_codes: list[str | None]
    km2: np.ndarray
    wkb: list[bytes | None]
    regions: list[str] = field(default_factory=list)  # the grid a cell is counted under (hex: its county)
    weights: Weights | None = None
    counts: np.ndarray = field(default_factory=lambda: np.zeros((0, 1)))

    @property
    def n(self) -> int:
        """How many cells."""
        return len(self.keys)

    @property
    def neighbours(self) -> dict[str, list[str]]:
        """Each cell's neighbours (itself excluded), for reading; the analyses use `weights`."""
        return self.weights.neighbours() if self.weights is not None else {}


def array_text(values: Sequence[object] | np.ndarray) -> str:
    """A PostgreSQL array literal of numbers or codes (digits, ':'), None as NULL: 120,000 values bind in
    milliseconds as one text, where psycopg's per-element array dump took a second per array."""
    items = values.tolist() if isinstance(values, np.ndarray) else values
    return "{" + ",".join("NULL" if v is None else str(v) for v in items) + "}"


def _unit(unit: str) -> str:
    if unit not in UNITS:
        raise InvalidInputError(f"unit must be grid or hex; got {unit!r}", where="unit")
    return unit


_GRIDS_VERSION = text("""
SELECT current_database() || '|' || count(*) || '/' || coalesce(max(id), 0) || '/'
       || coalesce(max(valid_from)::text, '') || '/' || coalesce(max(valid_to)::text, '')
FROM grids WHERE code ~>=~ :lo AND code ~<~ :hi
""")

# Weights only change when the grids do: the last few areas' matrices, keyed by the grids' version.
_WEIGHTS: OrderedDict[tuple, Weights] = OrderedDict()
_KEEP = 16


def _kept_weights(key: tuple, build) -> Weights:  # noqa: ANN001
    if key in _WEIGHTS:
        _WEIGHTS.move_to_end(key)
        return _WEIGHTS[key]
    w = _WEIGHTS[key] = build()
    while len(_WEIGHTS) > _KEEP:
        _WEIGHTS.popitem(last=False)
    return w


def _grid_cells(session: Session, params: dict) -> Cells:
    rows = session.execute(_GRID_CELLS, params).all()
    keys = [r[0] for r in rows]
    cells = Cells(
        "grid", keys, [r[1] for r in rows], np.array([float(r[2]) for r in rows]), [None] * len(rows), keys
    )
    version = session.execute(_GRIDS_VERSION, params).scalar_one()

    def build() -> Weights:
        a, b = session.execute(_GRID_PAIRS, params).one()
        ia, ib = positions(keys, a), positions(keys, b)
        keep = (ia >= 0) & (ib >= 0)
        return weights_from_pairs(keys, ia[keep], ib[keep])

    cells.weights = _kept_weights(("grid", params["area"], version), build)
    return cells


def hex_offsets(i: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """(di, dj) of the six neighbours of hexagons in columns `i` (ST_HexagonGrid: odd columns sit half
    a row higher)."""
    odd = (np.abs(i) % 2).astype(np.int64)
    zero, one = np.zeros_like(i), np.ones_like(i)
    return [
        (zero, one),
        (zero, -one),
        (one, odd - 1),
        (one, odd),
        (-one, odd - 1),
        (-one, odd),
    ]


def _hex_weights(keys: list[str], ii: np.ndarray, jj: np.ndarray) -> Weights:
    """Contiguity of hexagons from their lattice indices: lookups, no geometry."""
    span = int(max(np.abs(jj).max(initial=0), 1)) * 2 + 3
    code = ii * span + jj
    order = np.argsort(code)
    sorted_code = code[order]
    a_parts, b_parts = [], []
    for di, dj in hex_offsets(ii):
        target = (ii + di) * span + (jj + dj)
        pos = np.clip(np.searchsorted(sorted_code, target), 0, max(len(code) - 1, 0))
        hit = sorted_code[pos] == target if len(code) else np.zeros(0, dtype=bool)
        a_parts.append(np.flatnonzero(hit))
        b_parts.append(order[pos[hit]])
    return weights_from_pairs(keys, np.concatenate(a_parts), np.concatenate(b_parts))


def hex_of(x: np.ndarray, y: np.ndarray, s: float) -> tuple[np.ndarray, np.ndarray]:
    """Lattice indices (i, j) of the ST_HexagonGrid hexagon of edge `s` holding each Mercator point:
    the nearest centre among the two columns around it."""
    h = s * SQRT3
    best_i = best_j = best_d = None
    c0 = np.floor(x / (1.5 * s)).astype(np.int64)
    for col in (c0, c0 + 1):
        shift = 0.5 * (np.abs(col) % 2)
        row = np.round(y / h - shift).astype(np.int64)
        d = (x - 1.5 * s * col) ** 2 + (y - h * (row + shift)) ** 2
        if best_d is None:
            best_i, best_j, best_d = col, row, d
        else:
            take = d < best_d
            best_i, best_j, best_d = (
                np.where(take, col, best_i),
                np.where(take, row, best_j),
                np.minimum(d, best_d),
            )
    return best_i, best_j


def _hex_cells(session: Session, params: dict) -> tuple[Cells, float]:
    rows = session.execute(_HEX_CELLS, params).all()
    keys, ii, jj, order = _lattice_order(rows)
    cells = Cells(
        "hex",
        keys,
        [None] * len(keys),
        np.array([float(rows[k][2]) for k in order]),
        [bytes(rows[k][3]) for k in order],
        [rows[k][5] for k in order],
    )
    version = session.execute(_GRIDS_VERSION, params).scalar_one()
    cells.weights = _kept_weights(
        ("hex", params["area"], params["size"], version), lambda: _hex_weights(keys, ii, jj)
    )
    return cells, float(rows[0][4]) if rows else 0.0


def _lattice_order(rows: Sequence[Any]) -> tuple[list[str], np.ndarray, np.ndarray, list[int]]:
    """The hexagons' keys ("i:j") in key order, their lattice indices in that order, and which row each is."""
    ii = np.array([r[0] for r in rows], dtype=np.int64)
    jj = np.array([r[1] for r in rows], dtype=np.int64)
    keys = [f"{i}:{j}" for i, j in zip(ii.tolist(), jj.tolist(), strict=True)]
    order = sorted(range(len(keys)), key=keys.__getitem__)
    return [keys[k] for k in order], ii[order], jj[order], order


def positions(keys: list[str], values: list[str]) -> np.ndarray:
    """The index of each value in the sorted `keys` (-1 where it is not one of them)."""
    if not keys or not values:
        return np.full(len(values), -1, dtype=np.int64)
    sorted_keys = np.asarray(keys)
    v = np.asarray(values)
    pos = np.clip(np.searchsorted(sorted_keys, v), 0, len(keys) - 1)
    return np.where(sorted_keys[pos] == v, pos, -1)


def _add_counts(out: np.ndarray, where: np.ndarray, b: np.ndarray, n: np.ndarray) -> np.ndarray:
    keep = (where >= 0) & (b >= 0) & (b < out.shape[1])
    np.add.at(out, (where[keep], b[keep]), n[keep])
    return out


def _grid_counts(session: Session, cells: Cells, params: dict, bins: int) -> np.ndarray:
    cell, b, n = session.execute(_GRID_HITS, params).one()
    out = np.zeros((cells.n, bins))
    return _add_counts(
        out, positions(cells.keys, cell), np.asarray(b, dtype=np.int64), np.asarray(n, dtype=float)
    )


def _hex_counts(session: Session, cells: Cells, params: dict, bins: int, s: float) -> np.ndarray:
    out = np.zeros((cells.n, bins))
    x, y, b = (np.asarray(v) for v in session.execute(_HEX_POINTS, params).one())
    if not x.size or not cells.n:
        return out
    i, j = hex_of(x.astype(float), y.astype(float), s)
    lattice = np.char.add(np.char.add(i.astype(str), ":"), j.astype(str))
    return _add_counts(out, positions(cells.keys, lattice.tolist()), b.astype(np.int64), np.ones(x.size))


def load_cells(
    session: Session,
    area: str,
    unit: str,
    *,
    kinds: tuple[str, ...],
    start: datetime,
    end: datetime,
    bins: int = 1,
    hex_size_m: float = 2000.0,
) -> Cells:
    """Cells of the area with their weights and case counts in `bins` equal bins of [start, end)."""
    params = _load_params(area, kinds, start, end, bins, hex_size_m)
    if _unit(unit) == "grid":
        cells = _grid_cells(session, params)
        cells.counts = _grid_counts(session, cells, params, bins)
    else:
        cells, s = _hex_cells(session, params)
        cells.counts = _hex_counts(session, cells, params, bins, s)
    return cells


def _load_params(
    area: str, kinds: tuple[str, ...], start: datetime, end: datetime, bins: int, hex_size_m: float
) -> dict[str, Any]:
    """The values the cell and count queries bind: the area, the hexagons' size, the kinds and bins."""
    return {
        "area": area,
        **area_range(area),
        "size": hex_size_m,
        "kinds": list(kinds),
        "start": start,
        "end": end,
        "bin_seconds": (end - start).total_seconds() / bins,
    }


_FINGERPRINT = text("""
SELECT (SELECT count(*) || '/' || coalesce(max(id), 0) || '/'
               || coalesce(sum(extract(epoch FROM updated_at)), 0)
        FROM events WHERE grid_code ~>=~ :lo AND grid_code ~<~ :hi)
    || '|' ||
       (SELECT count(*) || '/' || coalesce(max(id), 0) FROM grids
        WHERE valid_to IS NULL AND level = 'grid' AND code ~>=~ :lo AND code ~<~ :hi)
""")


def data_fingerprint(session: Session, area: str) -> str:
    """A cheap summary of the area's cases and grids that changes whenever they change.

    The sum of `updated_at` (not its max: demo and imported rows may carry future-dated stamps)
    moves on any edit, since the events trigger stamps every update.
    """
    return str(session.execute(_FINGERPRINT, area_range(area)).scalar_one())
