"""The data of the Folium pages, as PostGIS writes it: registry layers' features in the area, the area's
outline with its townships (drawn over every analysis page), and how a page is built (MapOptions).

No folium here: these are texts and the Leaflet options the page scripts take (layers.folium_page places
them). Coordinates leave WGS84 only when the basemap is Gaode's (GCJ-02, shifted in one pass).
"""

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from sqlalchemy import CTE, JSON, ColumnElement, Text, cast, func, literal, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from geo.crs import wgs84_to_shifted
from geo.queries.grids import find_area_outline
from layers.folium_page import collection_layer, js_json
from layers.geojson import where
from layers.model import LayerDef
from layers.query import LayerQuery, window_bounds
from layers.registry import LayerRegistry


@dataclass(frozen=True)
class MapOptions:
    """How a map page is built: the requester's area, asset and basemap URLs, size caps."""

    area: str
    vendor_prefix: str = "/static/vendor"
    basemap_url: str = ""  # XYZ template; "" = no basemap (the grids are the map)
    basemap_crs: str = "wgs84"  # "gcj02" shifts every layer to match a Gaode basemap
    basemap_attribution: str = "底图"
    basemap_max_zoom: int = 18
    heat_max_cells: int = 20_000
    time_max_points: int = 30_000
    events_per_kind: int = 1_000  # county map markers per kind (newest first)
    recent_days: int = 30
    simplify_deg: float = 0.0002  # about 20 m: invisible at county zooms, halves the page
    max_features_per_layer: int = 3_000  # a bigger polygon layer is left out (the legend says so)


def _shift_geojson(texts: list[str], crs: str) -> list[str]:
    """Shift GeoJSON geometry texts (WGS84) to GCJ-02/BD-09 in one vectorised pass (1e-5 degrees)."""
    geoms = wgs84_to_shifted(shapely.from_geojson(texts), crs)
    return [str(t) for t in shapely.to_geojson(shapely.transform(geoms, lambda c: np.round(c, 5)))]


# --- features from the layer registry -------------------------------------------------------------


@dataclass(frozen=True)
class Collection:
    """A registry layer's features in the area as one FeatureCollection text in the map's CRS, how
    many there are (up to the cap + 1), and how many of them have each value of a property."""

    json: str
    count: int
    tally: dict[str, int]

    def features(self) -> list[dict[str, Any]]:
        """The features as Python dicts."""
        return list(json.loads(self.json)["features"])


def layer_collection(
    session: Session,
    layer: LayerDef,
    opts: MapOptions,
    props: tuple[str, ...],
    tally_by: str | None = None,
    query: LayerQuery | None = None,
) -> Collection:
    """The layer's features in the area (at most opts.max_features_per_layer + 1), geometry simplified
    and the whole FeatureCollection written by PostGIS: the page takes the text as it is (parsing and
    re-encoding 1,400 grids in Python cost more than the query). `tally_by`: a property to count by;
    `query`: its datetime (a window layer's period) and property filters, as layers.geojson reads them."""
    feats = _feature_rows(layer, opts, props, query)
    count = select(func.count()).select_from(feats).scalar_subquery()
    row = session.execute(select(_features_json(feats, props), count, _tally(feats, tally_by))).one()
    text = '{"type":"FeatureCollection","features":' + row[0] + "}"
    if row[1] and opts.basemap_crs != "wgs84":
        text = _shift_collection(text, opts.basemap_crs)
    return Collection(text, int(row[1]), {str(k): int(v) for k, v in (row[2] or {}).items()})


def _feature_rows(layer: LayerDef, opts: MapOptions, props: tuple[str, ...], query: LayerQuery | None) -> CTE:
    """The CTE `feats` of the layer's rows in the area: id, GeoJSON geometry (`gj`) and the properties."""
    sub = layer.select(opts.area, window_bounds(query.time) if query else None).subquery("src")
    geom = sub.c.geom if layer.is_point else func.ST_SimplifyPreserveTopology(sub.c.geom, opts.simplify_deg)
    # Polygons simplified to ~20 m need no more than 4 decimals (~10 m); points keep 5 (~1 m).
    digits = 5 if layer.is_point else 4
    cols = [sub.c.id, func.ST_AsGeoJSON(geom, digits).label("gj"), *(sub.c[p] for p in props)]
    conds = where(layer, sub, query) if query is not None else []
    return select(*cols).where(*conds).order_by(sub.c.id).limit(opts.max_features_per_layer + 1).cte("feats")


def _features_json(feats: CTE, props: tuple[str, ...]) -> ColumnElement[Any]:
    """The JSON array text of the rows as GeoJSON Features, by id ('[]' when none)."""
    feature = func.json_build_object(
        "type",
        "Feature",
        "id",
        feats.c.id,
        "geometry",
        cast(feats.c.gj, JSON),
        "properties",
        func.json_build_object(*(x for p in props for x in (literal(p), feats.c[p]))),
    )
    features = select(func.coalesce(cast(func.json_agg(aggregate_order_by(feature, feats.c.id)), Text), "[]"))
    return features.scalar_subquery()


def _tally(feats: CTE, tally_by: str | None) -> ColumnElement[Any]:
    """{value: count} of the rows by the property `tally_by` as JSON (NULL without one)."""
    if tally_by is None:
        return literal(None, JSON)
    groups = select(feats.c[tally_by].label("k"), func.count().label("n")).group_by(feats.c[tally_by])
    counted = groups.subquery("groups")
    return select(func.json_object_agg(cast(counted.c.k, Text), counted.c.n)).scalar_subquery()


def _shift_collection(text: str, crs: str) -> str:
    """A FeatureCollection text (WGS84) with every geometry shifted to `crs`."""
    collection = json.loads(text)
    features = collection["features"]
    shifted = _shift_geojson([json.dumps(f["geometry"]) for f in features], crs)
    for feature, geometry in zip(features, shifted, strict=True):
        feature["geometry"] = json.loads(geometry)
    return js_json(collection)


def layer_options_js(style_js: str, on_each_js: str, point_js: str = "") -> str:
    """The L.geoJson options of a collection layer (JavaScript)."""
    point = f", pointToLayer: {point_js}" if point_js else ""
    return f"{{style: {style_js}, onEachFeature: {on_each_js}{point}}}"


# --- outlines: the area and its townships, over every heatmap and analysis page ---------------------

OUTLINE_STYLES = {
    "area": {
        "color": "#252525",
        "weight": 2.5,
        "fill": False,
        "interactive": False,
        "className": "gg-area-outline",
    },
    "townships": {
        "color": "#3f007d",
        "weight": 1.5,
        "fill": False,
        "interactive": False,
        "className": "gg-township",
    },
}
# Township names as permanent labels, set as text (never markup) so a name cannot inject anything.
_LABEL_JS = """function (feature, layer) {
    var s = document.createElement('span');
    s.textContent = feature.properties.name;
    layer.bindTooltip(s, {permanent: true, direction: 'center', className: 'gg-map-label'});
}"""


def add_outlines(fmap: Any, session: Session, registry: LayerRegistry, opts: MapOptions) -> int:
    """Draw the area's boundary and its townships' (named) on a page; returns how many townships."""
    towns = layer_collection(session, registry.get("townships"), opts, ("name", "code"))
    if 0 < towns.count <= opts.max_features_per_layer:
        options = layer_options_js(js_json(OUTLINE_STYLES["townships"]), _LABEL_JS)
        collection_layer(towns.json, options, name=f"乡镇（街道）边界（{towns.count}）").add_to(fmap)
    geometry = find_area_outline(session, opts.area, opts.simplify_deg)
    if geometry:
        text = (
            '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":'
            + geometry
            + "}]}"
        )
        if opts.basemap_crs != "wgs84":
            text = _shift_collection(text, opts.basemap_crs)
        options = layer_options_js(js_json(OUTLINE_STYLES["area"]), "function () {}")
        collection_layer(text, options, name="辖区边界").add_to(fmap)
    return towns.count
