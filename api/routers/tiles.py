"""Vector tiles (MVT, encoded by PostGIS) and TileJSON for every layer that supports `mvt`."""

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.deps import CheckedUserDep, CurrentUser, SessionDep, UserDep
from api.deps_layers import LayerDep, LayerQueryDep, LayerSettingsDep, TileCacheDep
from api.routing import ReadRoute
from geo import audit
from layers import tiles
from layers.errors import InvalidTileError
from layers.model import LayerDef
from layers.settings import LayerSettings
from layers.tile_cache import TileCache, cached

router = APIRouter(route_class=ReadRoute, prefix="/tiles", tags=["vector tiles"])

_TILE_PARAMS = ("limit", "offset", "after")  # page parameters mean nothing for tiles


def _index(name: str, value: str) -> int:
    if not value.isdigit() or len(value) > 9:
        raise InvalidTileError(f"tile {name} must be a whole number 0 or more; got {value!r}", where=name)
    return int(value)


def _headers(settings: LayerSettings, tile: tiles.MvtTile) -> dict[str, str]:
    age = settings.cache_max_age
    headers = {
        "Cache-Control": f"private, max-age={age}" if age else "private, no-cache",
        "ETag": tile.etag,
        "X-Tile-Features": str(tile.features),
        "X-Tile-Aggregated": "true" if tile.aggregated else "false",
    }
    if tile.truncated:
        headers["X-Tile-Truncated"] = f"true; cap={settings.max_features_per_tile}"
    return headers


def _matches(if_none_match: str | None, etag: str) -> bool:
    """True when the client's If-None-Match names this ETag (weak comparison, or `*`)."""
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


@router.get(
    "/{layer_id}/{z}/{x}/{y}.mvt",
    name="tile",
    response_class=Response,
    responses={
        200: {"content": {tiles.MEDIA_TYPE: {}}},
        204: {"description": "empty tile"},
        304: {"description": "not modified"},
    },
)
def tile(
    request: Request,
    layer: LayerDep,
    z: str,
    x: str,
    y: str,
    query: LayerQueryDep,
    session: SessionDep,
    user: UserDep,
    settings: LayerSettingsDep,
    cache: TileCacheDep,
) -> Response:
    """A Mapbox vector tile (layer name = layer id); 204 when empty, 304 when the ETag still matches.

    Below the aggregation zoom, point layers come as cells with `count` and `weight`; polygons are
    simplified by zoom. If the per-tile cap is hit, `X-Tile-Truncated` says so.
    """
    zoom = _index("z", z)
    tq = tiles.tile_query(layer, query, zoom, _index("x", x), _index("y", y), settings)
    # a zoom where the layer shows nothing costs no query
    t = tiles.EMPTY if tq is None else _read_tile(session, user, layer, tq, zoom, settings, cache)
    headers = _headers(settings, t)
    if not t.data:
        return Response(status_code=204, headers=headers)
    if _matches(request.headers.get("if-none-match"), t.etag):
        return Response(status_code=304, headers=headers)
    return Response(t.data, media_type=tiles.MEDIA_TYPE, headers=headers)


def _read_tile(
    session: Session,
    user: CurrentUser,
    layer: LayerDef,
    tq: tiles.TileQuery,
    zoom: int,
    settings: LayerSettings,
    cache: TileCache,
) -> tiles.MvtTile:
    """The tile of `tq`, from the tile cache when the layer may be cached; a cleared reader's read of
    personal fields is noted for the audit row, a cached tile's too."""
    compute = lambda: tq.tile(session.execute(tq.statement, tq.params).first())  # noqa: E731
    cacheable = layer.changes and cache.enabled
    key = (*tq.key, user.cleared)  # masked names differ by clearance
    t = cached(session, cache, layer.changes, key, tq.owners, compute) if cacheable else compute()
    shown = () if tq.aggregated else layer.tile_properties(zoom, settings.detail_min_zoom)
    if user.cleared and set(layer.personal) & set(shown):
        audit.note_personal_read(session, f"tiles:{layer.id}")
    return t


@router.get("/{layer_id}.json", name="tilejson")
def tilejson(request: Request, layer: LayerDep, settings: LayerSettingsDep, _user: CheckedUserDep) -> dict:
    """TileJSON 3.0 of a layer: tile URL template (keeping any filters), zooms, fields."""
    layer.require("mvt")
    base = str(request.base_url).rstrip("/")
    qs = str(request.url.remove_query_params(_TILE_PARAMS).query)
    url = f"{base}/tiles/{layer.id}/{{z}}/{{x}}/{{y}}.mvt" + (f"?{qs}" if qs else "")
    zooms = {"minzoom": layer.min_zoom, "maxzoom": min(layer.max_zoom, settings.max_zoom)}
    return {
        "tilejson": "3.0.0",
        "name": layer.title,
        "description": layer.description,
        "scheme": "xyz",
        "tiles": [url],
        **zooms,
        "vector_layers": [
            {"id": layer.id, "description": layer.title, "fields": {p: p for p in layer.properties}, **zooms}
        ],
        "gridgov": _gridgov_tilejson(layer, settings),
    }


def _gridgov_tilejson(layer: LayerDef, settings: LayerSettings) -> dict:
    """The console's own TileJSON members: aggregation and overview zooms, the layer's style."""
    return {
        "aggregate_points_below_zoom": settings.cluster_below_zoom if layer.is_point else None,
        # Below this zoom the tiles carry only these fields (None: every field at every zoom).
        "overview_fields_below_zoom": settings.detail_min_zoom if layer.overview_properties else None,
        "overview_fields": list(layer.overview_properties) if layer.overview_properties else None,
        "style": {str(k): v for k, v in layer.style.items() if k != "colors"},
        "colors": {str(k): v for k, v in dict(layer.style.get("colors") or {}).items()},
    }
