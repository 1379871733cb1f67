"""Mapbox vector tiles of a layer, encoded by PostGIS (ST_AsMVTGeom + ST_AsMVT over ST_TileEnvelope).

Python passes the bytes on. Low zooms stay small: polygons are simplified to about a pixel, and
below `cluster_below_zoom` points are aggregated into square cells of the global Web Mercator grid
(each cell one feature with `count` and, for weighted layers, the summed `weight`). A tile never
drops features silently: if the per-tile cap is hit, `MvtTile.truncated` says so (sent as a header).
"""

import hashlib
from dataclasses import dataclass

from sqlalchemy import BigInteger, ColumnElement, Select, cast, func, literal_column, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import Subquery

from geo.queries.layers import CELL_LEVELS, CELL_TILE_SHIFT
from layers.errors import InvalidTileError
from layers.geojson import source, where
from layers.model import LayerDef
from layers.query import LayerQuery
from layers.settings import LayerSettings

MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
WORLD_M = 2 * 20037508.342789244  # width of the Web Mercator square in metres


@dataclass(frozen=True)
class MvtTile:
    """An encoded tile: its bytes, how many features, whether the cap cut it, and an ETag."""

    data: bytes
    features: int
    truncated: bool
    aggregated: bool

    @property
    def etag(self) -> str:
        """A strong ETag from the bytes: it changes whenever the data under the tile changes."""
        return '"' + hashlib.blake2b(self.data, digest_size=12).hexdigest() + '"'


def check_tile(z: int, x: int, y: int, max_zoom: int) -> None:
    """Raise InvalidTileError unless 0 <= z <= max_zoom and x, y are within 0..2^z-1."""
    if not 0 <= z <= max_zoom:
        raise InvalidTileError(f"zoom must be between 0 and {max_zoom}; got {z}", where="z")
    top = 2**z - 1
    if not (0 <= x <= top and 0 <= y <= top):
        raise InvalidTileError(
            f"at zoom {z} tile x and y must be between 0 and {top}; got x={x}, y={y}", where="x,y"
        )


def _envelope(z: int, x: int, y: int, margin: float = 0.0) -> ColumnElement:
    """The tile's square in EPSG:3857, optionally grown by a fraction of its width."""
    world = func.ST_MakeEnvelope(-WORLD_M / 2, -WORLD_M / 2, WORLD_M / 2, WORLD_M / 2, 3857)
    return func.ST_TileEnvelope(z, x, y, world, margin)


def _in_tile(src: Subquery, z: int, x: int, y: int, margin: float) -> ColumnElement:
    """Index-friendly test of src.geom (EPSG:4326) against the buffered tile."""
    return src.c.geom.op("&&")(func.ST_Transform(_envelope(z, x, y, margin), 4326))


def _mercator_xy(geom: ColumnElement) -> tuple[ColumnElement, ColumnElement]:
    """Web Mercator x, y of WGS84 points by formula: no PROJ call per point (spherical, as EPSG:3857)."""
    x = func.ST_X(geom) * (WORLD_M / 360.0)
    y = func.ln(func.tan(func.pi() / 4 + func.radians(func.ST_Y(geom)) / 2)) * 6378137.0
    return x, y


def _point3857(x: ColumnElement, y: ColumnElement) -> ColumnElement:
    return func.ST_SetSRID(func.ST_MakePoint(x, y), 3857)


def _mvt_geom(geom3857: ColumnElement, z: int, x: int, y: int, s: LayerSettings) -> ColumnElement:
    return func.ST_AsMVTGeom(geom3857, _envelope(z, x, y), s.tile_extent, s.tile_buffer, True)


def _features(
    layer: LayerDef, src: Subquery, q: LayerQuery, z: int, x: int, y: int, s: LayerSettings
) -> Select:
    """One row per feature: id, tile geometry and the allowed properties (polygons simplified by zoom)."""
    if layer.is_point:
        geom = _point3857(*_mercator_xy(src.c.geom))
    else:
        geom = func.ST_Transform(src.c.geom, 3857)
        pixel = WORLD_M / 2**z / s.tile_extent
        geom = func.ST_Simplify(geom, pixel * s.simplify_px, True)
    margin = s.tile_buffer / s.tile_extent
    return select(
        src.c.id, _mvt_geom(geom, z, x, y, s).label("geom"), *(src.c[p] for p in layer.properties)
    ).where(_in_tile(src, z, x, y, margin), *where(layer, src, q))


def _clusters(
    layer: LayerDef, src: Subquery, q: LayerQuery, z: int, x: int, y: int, s: LayerSettings
) -> Select:
    """One row per occupied cell of the global grid: mean position, count and summed weight."""
    cell = WORLD_M / 2**z * s.cluster_cell_px / s.tile_extent
    weight = src.c[layer.weight] if layer.weight else literal_column("1")
    mx, my = _mercator_xy(src.c.geom)
    pts = (
        select(mx.label("x"), my.label("y"), weight.label("w"))
        .where(_in_tile(src, z, x, y, s.cluster_cell_px / s.tile_extent), *where(layer, src, q))
        .subquery("pts")
    )
    return select(
        func.row_number().over().label("id"),
        _mvt_geom(_point3857(func.avg(pts.c.x), func.avg(pts.c.y)), z, x, y, s).label("geom"),
        func.count().label("count"),
        func.sum(pts.c.w).label("weight"),
    ).group_by(func.floor(pts.c.x / cell), func.floor(pts.c.y / cell))


def _cell_level(layer: LayerDef, query: LayerQuery, z: int, s: LayerSettings) -> int | None:
    """The pre-aggregated level that answers this aggregated tile exactly, if any: the layer has cells,
    the request filters nothing, and the settings' cell is 2^-CELL_TILE_SHIFT of a tile. The nearest
    level at or above z (cells nest: a zoom-z cell is the union of level cells >> (level - z))."""
    if layer.cells is None or query.filters or query.time or query.bbox:
        return None
    if s.cluster_cell_px * 2**CELL_TILE_SHIFT != s.tile_extent:
        return None
    return min((level for level in CELL_LEVELS if level >= z), default=None)


def _cell_clusters(
    layer: LayerDef, query: LayerQuery, level: int, z: int, x: int, y: int, s: LayerSettings
) -> Select:
    """The rows of `_clusters` from the cell sums of a level: same cells, same ring of one cell around
    the tile, mean position, count and weight summed."""
    assert layer.cells is not None
    cells = layer.cells(query.area, level).subquery("cells")
    shift = level - z
    side = 2**CELL_TILE_SHIFT  # cells per tile side at zoom z
    half = 2 ** (z + CELL_TILE_SHIFT - 1)  # cells from the world's edge to its centre
    x0, x1 = x * side - half - 1, (x + 1) * side - half  # the tile plus one cell each side, at zoom z
    y0, y1 = half - (y + 1) * side - 1, half - y * side
    n = func.sum(cells.c.n)
    mean = _point3857(func.sum(cells.c.sx) / n, func.sum(cells.c.sy) / n)
    return (
        select(
            func.row_number().over().label("id"),
            _mvt_geom(mean, z, x, y, s).label("geom"),
            cast(n, BigInteger).label("count"),
            cast(func.sum(cells.c.w), BigInteger).label("weight"),
        )
        .where(
            cells.c.cx.between(x0 * 2**shift, (x1 + 1) * 2**shift - 1),
            cells.c.cy.between(y0 * 2**shift, (y1 + 1) * 2**shift - 1),
        )
        .group_by(cells.c.cx.op(">>")(shift), cells.c.cy.op(">>")(shift))
    )


def _encode(layer: LayerDef, rows: Select, cap: int) -> Select:
    """ST_AsMVT over at most `cap` rows, plus how many rows there were (up to cap + 1)."""
    feats = rows.limit(cap + 1).cte("feats")
    kept = select(feats).where(feats.c.geom.is_not(None)).limit(cap).subquery("t")
    mvt = select(func.ST_AsMVT(literal_column("t"), layer.id, 4096, "geom", "id")).select_from(kept)
    return select(
        mvt.scalar_subquery().label("mvt"), select(func.count()).select_from(feats).scalar_subquery()
    )


def get_tile(
    session: Session, layer: LayerDef, query: LayerQuery, z: int, x: int, y: int, settings: LayerSettings
) -> MvtTile:
    """The layer's tile z/x/y for the query's area and filters; empty bytes when nothing is there."""
    layer.require("mvt")
    check_tile(z, x, y, settings.max_zoom)
    if not layer.min_zoom <= z <= layer.max_zoom:
        return MvtTile(b"", 0, False, False)
    aggregate = layer.is_point and z < settings.cluster_below_zoom
    level = _cell_level(layer, query, z, settings) if aggregate else None
    if level is not None:
        rows = _cell_clusters(layer, query, level, z, x, y, settings)
    else:
        src = source(layer, query.area, settings)
        rows = (_clusters if aggregate else _features)(layer, src, query, z, x, y, settings)
    cap = settings.max_features_per_tile
    data, n = session.execute(_encode(layer, rows, cap)).one()
    return MvtTile(bytes(data or b""), min(n, cap), n > cap, aggregate)
