"""Dependencies of the layer routes: the registry, the layer, and a checked LayerQuery.

Query strings are read here but parsed by layers.query, so bad values raise the same domain
errors (400 problem+json) everywhere. Every query carries the requesting user's area.
"""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request

from api.deps import UserDep
from geo.crs import parse_crs
from geo.errors import UnknownCrsError
from layers.errors import LimitOutOfRangeError
from layers.model import LayerDef
from layers.query import (
    LayerQuery,
    check_limit,
    check_offset,
    parse_bbox,
    parse_datetime,
    parse_filters,
    window_of,
)
from layers.registry import LayerRegistry
from layers.settings import LayerSettings
from layers.tile_cache import PageCache, TileCache, VersionedCache

# Query parameters with a meaning of their own; any other one must be a filterable property.
RESERVED = frozenset({"bbox", "bbox-crs", "datetime", "limit", "offset", "after", "crs", "f"})
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


async def get_registry(request: Request) -> LayerRegistry:
    """The app's layer registry (create_app's)."""
    return request.app.state.registry


async def get_layer_settings_dep(request: Request) -> LayerSettings:
    """The app's layer settings (create_app's)."""
    return request.app.state.settings.layers


RegistryDep = Annotated[LayerRegistry, Depends(get_registry)]
LayerSettingsDep = Annotated[LayerSettings, Depends(get_layer_settings_dep)]


async def get_layer(layer_id: str, registry: RegistryDep) -> LayerDef:
    """The layer named by the `{layer_id}` path segment (404 problem+json listing known ids)."""
    return registry.get(layer_id)


LayerDep = Annotated[LayerDef, Depends(get_layer)]


async def get_bbox(bbox: str | None = None) -> tuple[float, float, float, float] | None:
    """`bbox=minx,miny,maxx,maxy` in WGS84 (CRS84) degrees."""
    return parse_bbox(bbox)


BBoxDep = Annotated[tuple[float, float, float, float] | None, Depends(get_bbox)]


def _int(name: str, value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise LimitOutOfRangeError(f"{name} must be a whole number; got {value!r}", where=name) from None


async def get_output_crs(crs: str | None = None) -> str:
    """`crs=gcj02` shifts GeoJSON coordinates for Gaode-style basemaps; default and CRS84 mean WGS84."""
    if crs is None or crs in ("", CRS84, "CRS84"):
        return "wgs84"
    name = parse_crs(crs).name
    if name == "gcj02":
        return "gcj02"
    if name == "EPSG:4326":
        return "wgs84"
    raise UnknownCrsError(f"crs must be wgs84 (CRS84) or gcj02 for this output; got {crs!r}", where="crs")


OutputCrsDep = Annotated[str, Depends(get_output_crs)]


async def get_layer_query(
    request: Request,
    layer: LayerDep,
    user: UserDep,
    settings: LayerSettingsDep,
    bbox: BBoxDep,
    datetime: str | None = None,
    limit: str | None = None,
    offset: str | None = None,
    after: str | None = None,
) -> LayerQuery:
    """bbox, datetime, property filters and paging of a request, checked, in the user's area."""
    params = {k: ",".join(request.query_params.getlist(k)) for k in request.query_params}
    return LayerQuery(
        area=user.area,
        bbox=bbox,
        time=window_of(layer, parse_datetime(datetime)),
        filters=parse_filters(layer, params, RESERVED),
        limit=check_limit(_int("limit", limit), settings.default_limit, settings.max_limit),
        offset=check_offset(_int("offset", offset)),
        after=_int("after", after),
    )


LayerQueryDep = Annotated[LayerQuery, Depends(get_layer_query)]


def _app_cache(request: Request, name: str, make: Callable[[], VersionedCache]) -> Any:
    """The app's cache `name` (app.state), made with `make` at first use."""
    cache = getattr(request.app.state, name, None)
    if cache is None:
        cache = make()
        setattr(request.app.state, name, cache)
    return cache


async def get_tile_cache(request: Request, settings: LayerSettingsDep) -> TileCache:
    """The app's tile cache (layers.tile_cache), made at first use with the layer settings' budget."""
    return _app_cache(request, "tile_cache", lambda: TileCache(settings.tile_cache_mb * 1024 * 1024))


TileCacheDep = Annotated[TileCache, Depends(get_tile_cache)]


async def get_page_cache(request: Request, settings: LayerSettingsDep) -> PageCache:
    """The app's cache of feature pages (layers.tile_cache), made at first use like the tile cache."""
    return _app_cache(request, "page_cache", lambda: PageCache(settings.page_cache_mb * 1024 * 1024))


PageCacheDep = Annotated[PageCache, Depends(get_page_cache)]
