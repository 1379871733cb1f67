"""What a map page looks at: an area's extent, the zoom that fits it, the heat cell per zoom, and the
open and recent events the county map draws.

Coordinates are WGS84 lon/lat (EPSG:4326); the map layer swaps them for Leaflet.
"""

import math
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.errors import InvalidInputError
from geo.queries import figures
from geo.queries.area import area_range, in_area

MIN_ZOOM, MAX_ZOOM = 3, 18


# The area's extent is measured on its top level only: children lie within their parents
# (check_nesting), and an ST_Extent over every current grid of a province reads the whole table
# (200-300 ms, twice per heatmap page before). First the area's own row (the prefix padded with
# zeros: 62 -> the province 620000000000000, 620121003 -> that township), one index probe; when the
# area has no such row, the highest level present under the prefix (a code range: geo.queries.area).
_OWN_EXTENT = text("""
SELECT ST_XMin(geom) AS minx, ST_YMin(geom) AS miny, ST_XMax(geom) AS maxx, ST_YMax(geom) AS maxy
FROM grids WHERE valid_to IS NULL AND code = rpad(:area, 15, '0')
""")
_EXTENT = text(f"""
WITH under AS (
    SELECT level, geom FROM grids WHERE valid_to IS NULL AND {in_area("code")}
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
    params = {"area": area, **area_range(area)}
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
    WHERE {figures.open_now("e", "CAST(:as_of AS timestamptz)")} AND {in_area("e.grid_code")}
    UNION ALL
    SELECT e.id, e.kind, e.category, e.status, e.severity, e.reported_at, e.grid_code, e.geom
    FROM events e
    WHERE e.kind IN ('dispute', 'hazard', 'appeal') AND e.grid_code ~>=~ :lo AND e.grid_code ~<~ :hi
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
    params = {**area_range(area), "as_of": as_of, "recent_days": recent_days, "per_kind": per_kind}
    return list(session.execute(_MAP_EVENTS, params))
