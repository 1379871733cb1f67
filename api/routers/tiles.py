"""Vector tiles (MVT, encoded by PostGIS) and TileJSON for every layer that supports `mvt`."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import CheckedQuery, CheckedQueryDep, CheckedUserDep
from api.deps_layers import LayerDep, LayerQueryDep, LayerSettingsDep, TileCacheDep
from geo.queries.changes import version_statement
from layers import tiles
from layers.errors import InvalidTileError
from layers.model import LayerDef
from layers.settings import LayerSettings
from layers.tile_cache import TileCache

router = APIRouter(prefix="/tiles", tags=["vector tiles"])

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
async def tile(
    request: Request,
    layer: LayerDep,
    z: str,
    x: str,
    y: str,
    query: LayerQueryDep,
    db: CheckedQueryDep,
    settings: LayerSettingsDep,
    cache: TileCacheDep,
) -> Response:
    """A Mapbox vector tile (layer name = layer id); 204 when empty, 304 when the ETag still matches.

    Below the aggregation zoom, point layers come as cells with `count` and `weight`; polygons are
    simplified by zoom. If the per-tile cap is hit, `X-Tile-Truncated` says so.
    """
    tq = tiles.tile_query(layer, query, _index("z", z), _index("x", x), _index("y", y), settings)
    if tq is None:  # a zoom where the layer shows nothing costs no query
        t = tiles.EMPTY
    elif layer.changes and cache.enabled:
        t = await _cached(db, cache, layer, tq)
    else:  # one round trip on the event loop (geo.pipeline)
        t = tq.tile(await db.one(tq.statement, tq.params))
    headers = _headers(settings, t)
    if not t.data:
        return Response(status_code=204, headers=headers)
    if _matches(request.headers.get("if-none-match"), t.etag):
        return Response(status_code=304, headers=headers)
    return Response(t.data, media_type=tiles.MEDIA_TYPE, headers=headers)


async def _cached(db: CheckedQuery, cache: TileCache, layer: LayerDef, tq: tiles.TileQuery) -> tiles.MvtTile:
    """The tile from the cache while its layer's data is unchanged, else computed and kept.

    The version is read before the tile, in the same transaction (or an earlier one): the tile kept is
    never older than its version says. Known tile: one round trip when unchanged, two when changed.
    New tile: version and tile in one round trip. Masked names differ by clearance: part of the key.
    """
    key = (*tq.key, db.user.cleared)
    version_of = (version_statement(layer.changes), {})
    if key in cache:
        (version,) = await db.one(*version_of)
        hit = cache.get(key, version)
        if hit is not None:
            return hit
        row = await db.one(tq.statement, tq.params)
    else:
        (version,), row = await db.rows([version_of, (tq.statement, tq.params)])
    t = tq.tile(row)
    cache.put(key, version, t, tq.owners)
    return t


@router.get("/{layer_id}.json", name="tilejson")
def tilejson(request: Request, layer: LayerDep, settings: LayerSettingsDep, _user: CheckedUserDep) -> dict:
    """TileJSON 3.0 of a layer: tile URL template (keeping any filters), zooms, fields."""
    layer.require("mvt")
    base = str(request.base_url).rstrip("/")
    qs = str(request.url.remove_query_params(_TILE_PARAMS).query)
    url = f"{base}/tiles/{layer.id}/{{z}}/{{x}}/{{y}}.mvt" + (f"?{qs}" if qs else "")
    fields = {p: p for p in layer.properties}
    return {
        "tilejson": "3.0.0",
        "name": layer.title,
        "description": layer.description,
        "scheme": "xyz",
        "tiles": [url],
        "minzoom": layer.min_zoom,
        "maxzoom": min(layer.max_zoom, settings.max_zoom),
        "vector_layers": [
            {
                "id": layer.id,
                "description": layer.title,
                "fields": fields,
                "minzoom": layer.min_zoom,
                "maxzoom": min(layer.max_zoom, settings.max_zoom),
            }
        ],
        "gridgov": {
            "aggregate_points_below_zoom": settings.cluster_below_zoom if layer.is_point else None,
            # Below this zoom the tiles carry only these fields (None: every field at every zoom).
            "overview_fields_below_zoom": settings.detail_min_zoom if layer.overview_properties else None,
            "overview_fields": list(layer.overview_properties) if layer.overview_properties else None,
            "style": {str(k): v for k, v in layer.style.items() if k != "colors"},
            "colors": {str(k): v for k, v in dict(layer.style.get("colors") or {}).items()},
        },
    }
