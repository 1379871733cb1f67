"""OGC API – Features, Part 1: Core, GeoJSON encoding, under /ogc.

Readable by GDAL's OAPIF driver, QGIS and OWSLib. Features are serialised by PostGIS and streamed as
bytes; this router only shapes documents and links. Paging uses keyset `next` links (`after` = the
last id), so a client following them sees every feature exactly once even while new cases arrive.
"""

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.orm import Session

from api.deps import CheckedUserDep, SessionDep, UserDep
from api.deps_layers import (
    CRS84,
    LayerDep,
    LayerQueryDep,
    LayerSettingsDep,
    OutputCrsDep,
    PageCacheDep,
    RegistryDep,
)
from api.routing import ReadRoute
from geo import audit
from geo.queries.layers import area_extent
from layers import geojson
from layers.model import LayerDef
from layers.query import LayerQuery
from layers.settings import LayerSettings
from layers.tile_cache import PageCache, cached

router = APIRouter(route_class=ReadRoute, prefix="/ogc", tags=["OGC API - Features"])

JSON = "application/json"
GEOJSON = geojson.MEDIA_TYPE
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]


def _link(href: str, rel: str, type_: str, title: str | None = None) -> dict:
    link = {"href": href, "rel": rel, "type": type_}
    if title:
        link["title"] = title
    return link


def _collection(request: Request, layer: LayerDef, bbox: list[float] | None) -> dict:
    """The collection document of a layer."""
    doc = {
        "id": layer.id,
        "title": layer.title,
        "description": layer.description,
        "itemType": "feature",
        "crs": [CRS84],
        "storageCrs": CRS84,
        "geometryType": layer.geometry_type,
        "properties": list(layer.properties),
        "filters": dict(layer.filters),
        "links": _collection_links(request, layer),
    }
    if bbox:
        doc["extent"] = {"spatial": {"bbox": [bbox], "crs": CRS84}}
    return doc


def _collection_links(request: Request, layer: LayerDef) -> list[dict]:
    """The collection's links: itself and its items (GeoJSON)."""
    self_url = str(request.url_for("ogc_collection", layer_id=layer.id))
    items_url = str(request.url_for("ogc_items", layer_id=layer.id))
    return [
        _link(self_url, "self", JSON, layer.title),
        _link(items_url, "items", GEOJSON, f"{layer.title}（GeoJSON）"),
    ]


@router.get("", name="ogc_landing")
def landing(request: Request, _user: CheckedUserDep) -> dict:
    """The landing page: links to the API definition, conformance and the collections."""
    return {
        "title": "gridgov 网格化社会治理地图要素服务",
        "description": "OGC API – Features: grids, cases, workers, facilities and risk",
        "links": [
            _link(str(request.url_for("ogc_landing")), "self", JSON, "本页"),
            _link(str(request.url_for("ogc_conformance")), "conformance", JSON, "符合类"),
            _link(str(request.url_for("ogc_collections")), "data", JSON, "图层集合"),
            _link(
                str(request.base_url).rstrip("/") + "/openapi.json",
                "service-desc",
                "application/vnd.oai.openapi+json;version=3.0",
                "OpenAPI",
            ),
            _link(str(request.base_url).rstrip("/") + "/docs", "service-doc", "text/html", "API 文档"),
        ],
    }


@router.get("/conformance", name="ogc_conformance")
def conformance(_user: CheckedUserDep) -> dict:
    """The conformance classes this service implements."""
    return {"conformsTo": CONFORMANCE}


@router.get("/collections", name="ogc_collections")
def collections(request: Request, session: SessionDep, user: UserDep, registry: RegistryDep) -> dict:
    """Every layer as a feature collection, with the extent of the user's area."""
    bbox = area_extent(session, user.area)
    return {
        "links": [_link(str(request.url_for("ogc_collections")), "self", JSON)],
        "collections": [_collection(request, layer, bbox) for layer in registry],
    }


@router.get("/collections/{layer_id}", name="ogc_collection")
def collection(request: Request, layer: LayerDep, session: SessionDep, user: UserDep) -> dict:
    """One collection: title, geometry type, properties and filters, extent (computed in PostGIS)."""
    return _collection(request, layer, area_extent(session, user.area))


def _items_links(request: Request, layer: LayerDef, page: geojson.FeaturePage) -> list[dict]:
    links = [
        _link(str(request.url), "self", GEOJSON),
        _link(str(request.url_for("ogc_collection", layer_id=layer.id)), "collection", JSON),
    ]
    if page.has_more and page.last_id is not None:
        url = request.url.remove_query_params("offset").include_query_params(after=page.last_id)
        links.append(_link(str(url), "next", GEOJSON, "下一页"))
    return links


@router.get(
    "/collections/{layer_id}/items",
    name="ogc_items",
    response_class=StreamingResponse,
    responses={200: {"content": {GEOJSON: {}}}},
)
def items(
    request: Request,
    layer: LayerDep,
    query: LayerQueryDep,
    session: SessionDep,
    user: UserDep,
    settings: LayerSettingsDep,
    crs: OutputCrsDep,
    cache: PageCacheDep,
) -> StreamingResponse:
    """Features with `bbox` (WGS84), `datetime` (instant or interval, `..` open), `limit`, property filters.

    Any other query parameter must name a filterable property of the layer (see the collection's
    `filters`); several values are comma-separated. `crs=gcj02` shifts coordinates for Gaode basemaps.
    """
    page = _page(session, cache, layer, query, settings, crs, user.cleared)
    if user.cleared and layer.personal:
        audit.note_personal_read(session, f"ogc:{layer.id}")  # a cached page is read too
    body = geojson.collection_bytes(page, _items_links(request, layer, page))
    return StreamingResponse(body, media_type=GEOJSON, headers=_cache(settings))


def _page(
    session: Session,
    cache: PageCache,
    layer: LayerDef,
    query: LayerQuery,
    settings: LayerSettings,
    crs: str,
    cleared: bool,
) -> geojson.FeaturePage:
    """The page from the cache while its layer's data is unchanged (layers.tile_cache.cached), else computed;
    layers without change channels are computed every time."""
    compute = lambda: geojson.get_page(session, layer, query, settings, crs)  # noqa: E731
    if not (layer.changes and cache.enabled):
        return compute()
    key = geojson.page_key(layer, query, settings, crs, cleared)
    return cached(session, cache, layer.changes, key, (layer, settings), compute)


@router.get(
    "/collections/{layer_id}/items/{feature_id}",
    name="ogc_item",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}},
)
def item(
    feature_id: str,
    layer: LayerDep,
    session: SessionDep,
    user: UserDep,
    settings: LayerSettingsDep,
    crs: OutputCrsDep,
) -> Response:
    """One feature by id (404 problem+json when it is not in the layer or not in the user's area)."""
    body = geojson.get_feature(session, layer, user.area, feature_id, settings, crs)
    return Response(body, media_type=GEOJSON, headers=_cache(settings))


def _cache(settings: LayerSettingsDep) -> dict[str, str]:
    """Per-user data (jurisdiction): private; revalidate unless a max-age is configured."""
    age = settings.cache_max_age
    return {"Cache-Control": f"private, max-age={age}" if age else "private, no-cache"}
