"""The cases of bench_layers.py: one request each, as the app's URL, the SQL the app runs for it
(compiled from the layer code) and tipg's equivalent URL; and the XYZ tile arithmetic they use.

Imports the project's packages: the caller puts the repository root on sys.path first (as bench_layers).
"""

import math
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from layers import geojson, tiles
from layers.builtin import default_registry
from layers.query import LayerQuery
from layers.settings import LayerSettings

TIPG_TILE_CAP = 10_000

EVENT_PROPS = "category,severity,status,reported_at,grid_code"

TIPG_PROPS = {"disputes": EVENT_PROPS, "appeals": EVENT_PROPS, "grids": "code,name,level,area_m2,worker_id"}

TIPG_FILTERS = {
    "disputes": {"kind": "dispute"},
    "appeals": {"kind": "appeal"},
    "grids": {"filter-lang": "cql2-text", "filter": "level = 'grid' AND valid_to IS NULL"},
}

TIPG_TABLES = {"disputes": "public.events", "appeals": "public.events", "grids": "public.grids"}


@dataclass(frozen=True)
class Case:
    """One request, as the app's URL, the SQL the app runs for it, and tipg's equivalent URL."""

    name: str
    kind: str  # "items" or "tile"
    layer: str
    z: int | None
    app_path: str
    tipg_path: str
    tipg_params: dict
    sql: list[tuple[str, dict]]


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    """The Web Mercator (XYZ) tile holding a WGS84 point."""
    n = 2**z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return z, int((lon + 180) / 360 * n), int(y)


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """WGS84 bounds (minx, miny, maxx, maxy) of an XYZ tile."""
    n = 2**z

    def lat(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y)


def _compile(stmt) -> tuple[str, dict]:
    compiled = stmt.compile(dialect=postgresql.psycopg.dialect(), compile_kwargs={"render_postcompile": True})
    return str(compiled), dict(compiled.params)


def _items_case(name: str, area: str, bbox: tuple, settings: LayerSettings) -> Case:
    """Items of the disputes layer in a bbox, limit 1000: the page and the count, as the app runs them."""
    layer = default_registry().get("disputes")
    q = LayerQuery(area=area, bbox=bbox, limit=1000)
    page = geojson._page_select(layer, geojson.source(layer, area), q, "wgs84", settings.max_page_bytes)
    src = geojson.source(layer, area)
    capped = select(src.c.id).where(*geojson.where(layer, src, q)).limit(settings.count_cap + 1)
    count = select(func.count()).select_from(capped.subquery("m"))  # as geojson.count_features
    text_bbox = ",".join(f"{v:.6f}" for v in bbox)
    return Case(
        name,
        "items",
        "disputes",
        None,
        f"/ogc/collections/disputes/items?bbox={text_bbox}&limit=1000",
        f"/collections/{TIPG_TABLES['disputes']}/items",
        {"bbox": text_bbox, "limit": 1000, "f": "geojson", "properties": TIPG_PROPS["disputes"]}
        | TIPG_FILTERS["disputes"],
        [_compile(page)] + ([_compile(count)] if settings.count_matched else []),
    )


def _tile_case(layer_id: str, area: str, z: int, x: int, y: int, settings: LayerSettings) -> Case:
    """One MVT tile of a layer: the statement get_tile runs, the app URL and tipg's."""
    layer = default_registry().get(layer_id)
    tq = tiles.tile_query(layer, LayerQuery(area=area), z, x, y, settings)
    sql, params = _compile(tq.statement)
    return Case(
        f"tile {layer_id} z{z}",
        "tile",
        layer_id,
        z,
        f"/tiles/{layer_id}/{z}/{x}/{y}.mvt",
        f"/collections/{TIPG_TABLES[layer_id]}/tiles/WebMercatorQuad/{z}/{x}/{y}",
        {"properties": TIPG_PROPS[layer_id], **TIPG_FILTERS[layer_id]},
        [(sql, {**params, **tq.params})],
    )


def list_cases(engine, area: str, center: tuple[float, float]) -> list[Case]:
    """Items with bbox (the area's extent, and the z10 tile around the centre) and tiles at z 8, 10, 12."""
    from geo.queries.layers import area_extent

    settings = LayerSettings(_env_file=None)
    with Session(engine) as session:
        extent = tuple(area_extent(session, area))
    window = tile_bounds(*tile_of(*center, 10))
    out = [
        _items_case("items disputes extent l=1000", area, extent, settings),
        _items_case("items disputes z10win l=1000", area, window, settings),
    ]
    for layer_id in ("grids", "disputes"):
        for z in (8, 10, 12):
            out.append(_tile_case(layer_id, area, *tile_of(*center, z), settings))
    # The biggest event layer (appeals, ~85 % of all events) at z8: the tile-size goal and tipg's cap.
    out.append(_tile_case("appeals", area, *tile_of(*center, 8), settings))
    return out
