"""Mapbox vector tiles of a layer, encoded by PostGIS (ST_AsMVTGeom + ST_AsMVT over ST_TileEnvelope).

Python passes the bytes on. Low zooms stay small: polygons are simplified to about a pixel, and
below `cluster_below_zoom` points are aggregated into square cells of the global Web Mercator grid
(each cell one feature with `count` and, for weighted layers, the summed `weight`). A tile never
drops features silently: if the per-tile cap is hit, `MvtTile.truncated` says so (sent as a header).
"""

import hashlib
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    bindparam,
    cast,
    func,
    literal_column,
    select,
)
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


# Tile x and y are bound parameters of a statement built once per layer, zoom, area and filters (see
# _statement): building one with SQLAlchemy costs ~3 ms of Python, more than a small tile's query.
TILE_X = bindparam("tile_x", type_=Integer)
TILE_Y = bindparam("tile_y", type_=Integer)
Index = int | ColumnElement


def _envelope(z: int, x: Index, y: Index, margin: float = 0.0) -> ColumnElement:
    """The tile's square in EPSG:3857, optionally grown by a fraction of its width."""
    world = func.ST_MakeEnvelope(-WORLD_M / 2, -WORLD_M / 2, WORLD_M / 2, WORLD_M / 2, 3857)
    return func.ST_TileEnvelope(z, x, y, world, margin)


def _in_tile(src: Subquery, z: int, x: Index, y: Index, margin: float) -> ColumnElement:
    """Index-friendly test of src.geom (EPSG:4326) against the buffered tile."""
    return src.c.geom.op("&&")(func.ST_Transform(_envelope(z, x, y, margin), 4326))


def _mercator_xy(geom: ColumnElement) -> tuple[ColumnElement, ColumnElement]:
    """Web Mercator x, y of WGS84 points by formula: no PROJ call per point (spherical, as EPSG:3857)."""
    x = func.ST_X(geom) * (WORLD_M / 360.0)
    y = func.ln(func.tan(func.pi() / 4 + func.radians(func.ST_Y(geom)) / 2)) * 6378137.0
    return x, y


def _point3857(x: ColumnElement, y: ColumnElement) -> ColumnElement:
    return func.ST_SetSRID(func.ST_MakePoint(x, y), 3857)


def _mvt_geom(geom3857: ColumnElement, z: int, x: Index, y: Index, s: LayerSettings) -> ColumnElement:
    return func.ST_AsMVTGeom(geom3857, _envelope(z, x, y), s.tile_extent, s.tile_buffer, True)


def _features(
    layer: LayerDef, src: Subquery, q: LayerQuery, z: int, x: Index, y: Index, s: LayerSettings
) -> Select:
    """One row per feature: id, tile geometry and the allowed properties (polygons simplified by zoom)."""
    if layer.is_point:
        geom = _point3857(*_mercator_xy(src.c.geom))
    else:
        geom = func.ST_Transform(src.c.geom, 3857)
        pixel = WORLD_M / 2**z / s.tile_extent
        geom = func.ST_Simplify(geom, pixel * s.simplify_px, True)
    margin = s.tile_buffer / s.tile_extent
    props = layer.tile_properties(z, s.detail_min_zoom)
    return select(src.c.id, _mvt_geom(geom, z, x, y, s).label("geom"), *(src.c[p] for p in props)).where(
        _in_tile(src, z, x, y, margin), *where(layer, src, q)
    )


def _clusters(
    layer: LayerDef, src: Subquery, q: LayerQuery, z: int, x: Index, y: Index, s: LayerSettings
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


def _cell_range(level: int, z: int, x: int, y: int) -> dict[str, int]:
    """Level cell ranges of tile z/x/y plus one zoom-z cell on each side (the ring `_clusters` reads)."""
    shift = level - z
    side = 2**CELL_TILE_SHIFT  # cells per tile side at zoom z
    half = 2 ** (z + CELL_TILE_SHIFT - 1)  # cells from the world's edge to its centre
    x0, x1 = x * side - half - 1, (x + 1) * side - half
    y0, y1 = half - (y + 1) * side - 1, half - y * side
    return {
        "cx_lo": x0 * 2**shift,
        "cx_hi": (x1 + 1) * 2**shift - 1,
        "cy_lo": y0 * 2**shift,
        "cy_hi": (y1 + 1) * 2**shift - 1,
    }


def _cell_rows(layer: LayerDef, query: LayerQuery, level: int, z: int, s: LayerSettings) -> Select:
    """The rows of `_clusters` from the cell sums of a level (tile and ranges as bound parameters)."""
    assert layer.cells is not None
    cells = layer.cells(query.area, level).subquery("cells")
    shift = level - z
    n = func.sum(cells.c.n)
    mean = _point3857(func.sum(cells.c.sx) / n, func.sum(cells.c.sy) / n)
    return (
        select(
            func.row_number().over().label("id"),
            _mvt_geom(mean, z, TILE_X, TILE_Y, s).label("geom"),
            cast(n, BigInteger).label("count"),
            cast(func.sum(cells.c.w), BigInteger).label("weight"),
        )
        .where(
            cells.c.cx.between(bindparam("cx_lo", type_=Integer), bindparam("cx_hi", type_=Integer)),
            cells.c.cy.between(bindparam("cy_lo", type_=Integer), bindparam("cy_hi", type_=Integer)),
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


@dataclass(frozen=True)
class TileQuery:
    """The statement of one tile and its parameters (one row: the MVT bytes and the row count)."""

    statement: Select
    params: dict[str, int]
    aggregated: bool
    cap: int
    key: tuple  # identifies the tile's answer: statement (layer, settings, area, filters, zoom), x, y
    owners: tuple  # the layer and settings objects whose ids the key holds (a cache keeps them alive)

    def tile(self, row: tuple | None) -> MvtTile:
        """The tile from the statement's row."""
        data, n = row if row is not None else (None, 0)
        return MvtTile(bytes(data or b""), min(n, self.cap), n > self.cap, self.aggregated)


def tile_query(
    layer: LayerDef, query: LayerQuery, z: int, x: int, y: int, settings: LayerSettings
) -> TileQuery | None:
    """The query of the layer's tile z/x/y for the query's area and filters; None when the layer
    shows nothing at this zoom (an empty tile)."""
    layer.require("mvt")
    check_tile(z, x, y, settings.max_zoom)
    if not layer.min_zoom <= z <= layer.max_zoom:
        return None
    aggregate = layer.is_point and z < settings.cluster_below_zoom
    level = _cell_level(layer, query, z, settings) if aggregate else None
    params = {"tile_x": x, "tile_y": y, **(_cell_range(level, z, x, y) if level is not None else {})}
    key = _key(layer, query, z, level, aggregate, settings)
    stmt = _statement(layer, query, z, level, aggregate, settings, key)
    return TileQuery(stmt, params, aggregate, settings.max_features_per_tile, (*key, x, y), (layer, settings))


EMPTY = MvtTile(b"", 0, False, False)


# Built statements are kept (SQLAlchemy then compiles each once, from its cache): at most
# _MAX_STATEMENTS, then the lot is dropped (filters in the key make the space unbounded).
_STATEMENTS: dict[tuple, tuple[LayerDef, LayerSettings, Select]] = {}
_MAX_STATEMENTS = 2048


def _key(
    layer: LayerDef, query: LayerQuery, z: int, level: int | None, aggregate: bool, settings: LayerSettings
) -> tuple:
    filters = tuple(sorted((k, tuple(v)) for k, v in query.filters.items()))
    return (id(layer), id(settings), query.area, query.bbox, query.time, filters, z, level, aggregate)


def _statement(
    layer: LayerDef,
    query: LayerQuery,
    z: int,
    level: int | None,
    aggregate: bool,
    settings: LayerSettings,
    key: tuple | None = None,
) -> Select:
    """The encoded tile statement of a layer at a zoom for an area and filters, built once and reused
    with the tile's x and y as parameters. Keyed by the layer and settings objects themselves (checked
    on a hit, so a replaced layer or settings never gets another's statement). `key`: `_key` of the
    same arguments, when the caller has it already."""
    key = key or _key(layer, query, z, level, aggregate, settings)
    hit = _STATEMENTS.get(key)
    if hit is not None and hit[0] is layer and hit[1] is settings:
        return hit[2]
    return _keep(key, layer, settings, _build_statement(layer, query, z, level, aggregate, settings))


def _build_statement(
    layer: LayerDef, query: LayerQuery, z: int, level: int | None, aggregate: bool, settings: LayerSettings
) -> Select:
    """ST_AsMVT over the tile's rows: a level's cell sums, points aggregated into cells, or features."""
    if level is not None:
        rows = _cell_rows(layer, query, level, z, settings)
    else:
        src = source(layer, query.area, query.time)
        rows = (_clusters if aggregate else _features)(layer, src, query, z, TILE_X, TILE_Y, settings)
    return _encode(layer, rows, settings.max_features_per_tile)


def _keep(key: tuple, layer: LayerDef, settings: LayerSettings, stmt: Select) -> Select:
    """Keep a built statement under its key (all are dropped once there are _MAX_STATEMENTS); returns it."""
    if len(_STATEMENTS) >= _MAX_STATEMENTS:
        _STATEMENTS.clear()
    _STATEMENTS[key] = (layer, settings, stmt)
    return stmt
