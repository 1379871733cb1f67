"""The spatial units of the analyses and what happened in them, counted by PostGIS.

A unit is either the current small grids of an area (`grid`) or a hexagon tessellation over them
(`hex`, ST_HexagonGrid in Web Mercator with the edge scaled by 1/cos(latitude), so `size_m` is
close to true metres). Counts per cell and time bin, and queen contiguity (shared edge or corner),
come from SQL; Python receives only vectors. Cells are ordered by key, so results are repeatable.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.errors import InvalidInputError

UNITS = ("grid", "hex")
COUNTED = "e.status NOT IN ('rejected', 'duplicate')"

_GRID_CELLS = """cells AS (
    SELECT g.code::text AS cell, g.code::text AS grid_code, g.area_m2 / 1e6 AS km2, g.geom
    FROM grids g
    WHERE g.level = 'grid' AND g.valid_to IS NULL AND g.code LIKE :area || '%'
)"""

# Hexagons over the area's small grids; only those touching a small grid are kept.
_HEX_CELLS = """ext AS (
    SELECT ST_Transform(ST_SetSRID(ST_Extent(geom)::geometry, 4326), 3857) AS box,
           cos(radians(ST_Y(ST_Centroid(ST_SetSRID(ST_Extent(geom)::geometry, 4326))))) AS k
    FROM grids WHERE level = 'grid' AND valid_to IS NULL AND code LIKE :area || '%'
),
hx AS (
    SELECT h.i || ':' || h.j AS cell, ST_Transform(h.geom, 4326) AS geom
    FROM ext, ST_HexagonGrid(:size / ext.k, ext.box) h WHERE ext.box IS NOT NULL
),
cells AS (
    SELECT hx.cell, NULL::text AS grid_code, ST_Area(hx.geom::geography) / 1e6 AS km2, hx.geom FROM hx
    WHERE EXISTS (SELECT 1 FROM grids g WHERE g.level = 'grid' AND g.valid_to IS NULL
                  AND g.code LIKE :area || '%' AND g.geom && hx.geom AND ST_Intersects(g.geom, hx.geom))
)"""

_BIN = "floor(extract(epoch FROM e.reported_at - CAST(:start AS timestamptz)) / :bin_seconds)::int"
_EVENT_FILTER = f"""e.grid_code LIKE :area || '%' AND e.kind = ANY(:kinds) AND {COUNTED}
      AND e.reported_at >= :start AND e.reported_at < :end"""

_GRID_HITS = f"""hits AS (
    SELECT e.grid_code::text AS cell, {_BIN} AS bin FROM events e
    WHERE {_EVENT_FILTER} AND e.grid_code IN (SELECT cell FROM cells)
)"""

# An event on a shared hexagon edge counts once, in the lowest key (deterministic tie-break).
_HEX_HITS = f"""hits AS (
    SELECT DISTINCT ON (e.id) c.cell, {_BIN} AS bin
    FROM cells c JOIN events e ON e.geom && c.geom AND ST_Intersects(c.geom, e.geom)
    WHERE {_EVENT_FILTER}
    ORDER BY e.id, c.cell
)"""


@dataclass
class Cells:
    """The cells of an area in key order, with their base (km²), contiguity and counts per bin."""

    unit: str
    keys: list[str]
    grid_codes: list[str | None]
    km2: np.ndarray
    wkb: list[bytes | None]
    neighbours: dict[str, list[str]] = field(default_factory=dict)
    counts: np.ndarray = field(default_factory=lambda: np.zeros((0, 1)))

    @property
    def n(self) -> int:
        """How many cells."""
        return len(self.keys)


def _cte(unit: str) -> str:
    if unit not in UNITS:
        raise InvalidInputError(f"unit must be grid or hex; got {unit!r}", where="unit")
    return _GRID_CELLS if unit == "grid" else _HEX_CELLS


def _load_cells(session: Session, unit: str, params: dict) -> Cells:
    rows = session.execute(
        text(
            f"WITH {_cte(unit)} SELECT cell, grid_code, km2, "
            f"CASE WHEN :keep_wkb THEN ST_AsBinary(ST_Multi(geom)) END FROM cells ORDER BY cell"
        ),
        {**params, "keep_wkb": unit == "hex"},
    ).all()
    return Cells(
        unit,
        [r[0] for r in rows],
        [r[1] for r in rows],
        np.array([float(r[2]) for r in rows]),
        [bytes(r[3]) if r[3] else None for r in rows],
    )


# Small grids join on the grids table itself so that the GiST index finds the candidates.
_GRID_PAIRS = """SELECT a.code, b.code FROM grids a JOIN grids b
    ON a.geom && b.geom AND a.code < b.code AND ST_Intersects(a.geom, b.geom)
    WHERE a.level = 'grid' AND a.valid_to IS NULL AND a.code LIKE :area || '%'
      AND b.level = 'grid' AND b.valid_to IS NULL AND b.code LIKE :area || '%'"""

_HEX_PAIRS = f"""WITH {_HEX_CELLS} SELECT a.cell, b.cell FROM cells a JOIN cells b
    ON a.geom && b.geom AND a.cell < b.cell AND ST_Intersects(a.geom, b.geom)"""

_GRIDS_VERSION = text("""
SELECT current_database() || '|' || count(*) || '/' || coalesce(max(id), 0) || '/'
       || coalesce(max(valid_from)::text, '') FROM grids WHERE code LIKE :area || '%'
""")

# Contiguity only changes when the grids do: keep the last few, keyed by the grids' version.
_NEIGHBOURS: dict[tuple, dict[str, list[str]]] = {}


def _load_neighbours(session: Session, unit: str, params: dict) -> dict[str, list[str]]:
    """Queen contiguity between cells (their boundaries touch or cross), symmetric; cached."""
    version = session.execute(_GRIDS_VERSION, params).scalar_one()
    key = (unit, params["area"], params["size"] if unit == "hex" else None, version)
    if key not in _NEIGHBOURS:
        rows = session.execute(text(_GRID_PAIRS if unit == "grid" else _HEX_PAIRS), params).all()
        if len(_NEIGHBOURS) > 32:
            _NEIGHBOURS.clear()
        _NEIGHBOURS[key] = _pairs_to_lists(rows)
    return _NEIGHBOURS[key]


def _pairs_to_lists(rows: Sequence[Any]) -> dict[str, list[str]]:
    nb: dict[str, list[str]] = defaultdict(list)
    for a, b in rows:
        nb[a].append(b)
        nb[b].append(a)
    return {k: sorted(v) for k, v in nb.items()}


def _load_counts(session: Session, cells: Cells, params: dict, bins: int) -> np.ndarray:
    hits = _GRID_HITS if cells.unit == "grid" else _HEX_HITS
    rows = session.execute(
        text(f"WITH {_cte(cells.unit)}, {hits} SELECT cell, bin, count(*) FROM hits GROUP BY cell, bin"),
        params,
    ).all()
    index = {k: i for i, k in enumerate(cells.keys)}
    out = np.zeros((cells.n, bins))
    for cell, b, n in rows:
        if cell in index and 0 <= b < bins:
            out[index[cell], b] = n
    return out


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
    """Cells of the area with contiguity and case counts in `bins` equal bins of [start, end)."""
    seconds = (end - start).total_seconds() / bins
    params = {
        "area": area,
        "size": hex_size_m,
        "kinds": list(kinds),
        "start": start,
        "end": end,
        "bin_seconds": seconds,
    }
    cells = _load_cells(session, unit, params)
    cells.neighbours = _load_neighbours(session, unit, params)
    cells.counts = _load_counts(session, cells, params, bins)
    return cells


_FINGERPRINT = text("""
SELECT (SELECT count(*) || '/' || coalesce(max(id), 0) || '/'
               || coalesce(sum(extract(epoch FROM updated_at)), 0)
        FROM events WHERE grid_code LIKE :area || '%')
    || '|' ||
       (SELECT count(*) || '/' || coalesce(max(id), 0) FROM grids
        WHERE valid_to IS NULL AND level = 'grid' AND code LIKE :area || '%')
""")


def data_fingerprint(session: Session, area: str) -> str:
    """A cheap summary of the area's cases and grids that changes whenever they change.

    The sum of `updated_at` (not its max: demo and imported rows may carry future-dated stamps)
    moves on any edit, since the events trigger stamps every update.
    """
    return str(session.execute(_FINGERPRINT, {"area": area}).scalar_one())
