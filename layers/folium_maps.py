"""What every Folium map page shares: coordinates for Leaflet, the Map itself, the legend, the area's
view, and the JavaScript of tooltips, popups and fills.

The pages are layers.folium_heat (heatmaps), layers.folium_county (the county overview),
layers.folium_risk (risk choropleth), layers.folium_analytics and layers.folium_field. Folium is imported
only inside functions. Coordinates are WGS84 lon/lat until `latlon()` swaps them to Leaflet's [lat, lon]
(and shifts them to GCJ-02 when the basemap is Gaode's). Every script and stylesheet is vendored
(layers.assets.localize). UI text is Simplified Chinese.
"""

from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from geo import vocabulary
from geo.crs import from_wgs84_lonlat
from geo.queries.mapview import MIN_ZOOM, fit_zoom, get_area_extent
from layers.folium_data import MapOptions, add_outlines
from layers.folium_page import Literal, js_json, metric_scale
from layers.registry import LayerRegistry

KIND_LABELS = vocabulary.zh(vocabulary.KINDS)
STATUS_LABELS = vocabulary.zh(vocabulary.STATUSES)
PAGE_CSS = (
    "<style>.leaflet-container{background:#f4f3ef;font-family:'Noto Sans CJK SC','Noto Sans SC',sans-serif}"
    ".gg-legend{position:fixed;z-index:1000;left:54px;top:10px;background:rgba(255,255,255,.92);"
    "padding:6px 10px;border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.3);font-size:13px;max-width:360px}"
    ".gg-legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}"
    ".leaflet-tooltip.gg-map-label{background:rgba(255,255,255,.75);border:0;box-shadow:none;color:#3f007d;"
    "font-weight:700;font-size:12px;padding:0 3px}.leaflet-tooltip.gg-map-label:before{display:none}</style>"
)


# --- coordinates --------------------------------------------------------------------------------


def latlon(rows: Any, crs: str = "wgs84") -> list[list[Any]]:
    """Swap (lon, lat, *rest) rows to Leaflet's [lat, lon, *rest], shifting to GCJ-02 when asked."""
    rows = list(rows)
    if crs == "wgs84":  # the common case, and 20,000 heat cells: no arrays
        return [[float(r[1]), float(r[0]), *r[2:]] for r in rows]
    if not rows:
        return []
    lon, lat = np.array([r[0] for r in rows], float), np.array([r[1] for r in rows], float)
    lon, lat = from_wgs84_lonlat(lon, lat, crs)
    lon, lat = np.round(lon, 5), np.round(lat, 5)
    return [[float(y), float(x), *r[2:]] for x, y, r in zip(lon, lat, rows, strict=True)]


def _bounds(bbox: tuple[float, float, float, float], crs: str) -> list[list[float]]:
    """A lon/lat bbox as Leaflet bounds [[south, west], [north, east]]."""
    return latlon([(bbox[0], bbox[1]), (bbox[2], bbox[3])], crs)


# --- page scaffolding ---------------------------------------------------------------------------


def new_map(title: str, bbox: tuple[float, float, float, float], zoom: int, opts: MapOptions) -> Any:
    """A folium Map in its own Figure: no basemap unless configured, centred on the bbox."""
    import folium

    figure = folium.Figure(title=title)
    (south, west), (north, east) = _bounds(bbox, opts.basemap_crs)
    fmap = _leaflet_map([(south + north) / 2, (west + east) / 2], zoom, opts)
    figure.add_child(fmap)
    metric_scale().add_to(fmap)
    fmap.fit_bounds([[south, west], [north, east]])  # the browser fits the area to its own viewport
    _add_basemap(fmap, opts)
    figure.header.add_child(folium.Element(PAGE_CSS), name="gg_css")
    return fmap


def _leaflet_map(location: list[float], zoom: int, opts: MapOptions) -> Any:
    """The folium Map itself, without tiles: the basemap (if any) is added as a layer of its own."""
    import folium

    # maxZoom goes on the map itself: with no tile layer, Leaflet (and markercluster) would have none.
    return folium.Map(
        location=location,
        zoom_start=zoom,
        tiles=None,
        control_scale=False,  # metres only: new_map adds metric_scale()
        maxZoom=opts.basemap_max_zoom,
        minZoom=MIN_ZOOM,
    )


def _add_basemap(fmap: Any, opts: MapOptions) -> None:
    """The configured basemap under the layers, outside the layer control; none unless configured."""
    import folium

    if opts.basemap_url:
        folium.TileLayer(
            tiles=opts.basemap_url,
            attr=opts.basemap_attribution,
            name="底图",
            max_zoom=opts.basemap_max_zoom,
            overlay=False,
            control=False,
        ).add_to(fmap)


def finish_map(fmap: Any, session: Session, registry: LayerRegistry, opts: MapOptions) -> None:
    """Outlines of the area and its townships over the page's layers, then the layer control."""
    import folium

    add_outlines(fmap, session, registry, opts)
    folium.LayerControl(collapsed=False).add_to(fmap)


def add_legend(fmap: Any, body: str) -> None:
    """A fixed legend box (HTML, Chinese) in the top-left corner; `body` is markup, placed as is."""
    fmap.get_root().html.add_child(Literal(f'<div class="gg-legend">{body}</div>'), name="gg_legend")


def area_view(
    session: Session, opts: MapOptions, zoom: int | None
) -> tuple[tuple[float, float, float, float], int]:
    """The area's bbox and the zoom to show it at (fitted unless given)."""
    bbox = get_area_extent(session, opts.area)
    return bbox, (zoom if zoom is not None else fit_zoom(bbox))


def bind_js(
    method: str, fields: tuple[str, ...], aliases: tuple[str, ...], percent: tuple[str, ...] = ()
) -> str:
    """JavaScript of an onEachFeature that binds a Chinese tooltip or popup table of properties.

    Values are inserted as text nodes' content (textContent), so data never becomes markup. `percent`:
    fields holding a rate 0..1, shown as 85.0%.
    """
    pairs, pct = js_json(list(zip(fields, aliases, strict=True))), js_json(list(percent))
    return f"""function (feature, layer) {{
        var p = feature.properties, t = document.createElement('table'), pct = {pct};
        {pairs}.forEach(function (fa) {{
            var r = t.insertRow(), k = r.insertCell(), v = r.insertCell(), x = p[fa[0]];
            if (x != null && pct.indexOf(fa[0]) >= 0) x = (x * 100).toFixed(1) + '%';
            k.textContent = fa[1] + '：'; v.textContent = x == null ? '—' : x;
        }});
        layer.{method}(t{", {sticky: true}" if method == "bindTooltip" else ""});
    }}"""


def fill_by_js(prop: str, colors: dict[Any, str], base: dict[str, Any], class_prefix: str = "") -> str:
    """JavaScript of a style function: `base`, filled with the colour of the feature's `prop` value
    (light grey if none), and with class `class_prefix` + value when a prefix is given."""
    cls = f"s.className = {js_json(class_prefix)} + g; " if class_prefix else ""
    return f"""function (f) {{
        var g = f.properties[{js_json(prop)}], s = {js_json(base)};
        s.fillColor = {js_json({str(k): v for k, v in colors.items()})}[g] || '#f0f0f0'; {cls}return s;
    }}"""
