"""Folium maps served as HTML: county overview, heatmap, weekly heatmap and risk choropleth.

The only module that imports folium, and only inside functions. Data comes from PostGIS already
aggregated or capped (geo.queries.heat, the layer registry), so pages stay small at any volume.
Coordinates are WGS84 lon/lat until `latlon()` swaps them to Leaflet's [lat, lon] (and shifts them to
GCJ-02 when the basemap is Gaode's). Every script and stylesheet is vendored (layers.assets.localize).
UI text is Simplified Chinese.
"""

import html
import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from geo import clock, vocabulary
from geo.analytics.risk import graded_as_of
from geo.crs import from_wgs84_lonlat
from geo.queries import heat as q
from layers.folium_data import MapOptions, add_outlines, layer_collection, layer_options_js
from layers.folium_page import (
    Literal,
    collection_layer,
    heat_layer,
    js_json,
    metric_scale,
    render_page,
    time_heat_layer,
)
from layers.registry import LayerRegistry

KIND_LABELS = vocabulary.zh(vocabulary.KINDS)
STATUS_LABELS = vocabulary.zh(vocabulary.STATUSES)
SEVERITY_LABELS = vocabulary.zh(vocabulary.SEVERITIES)
KIND_COLORS = {"dispute": "#d95f02", "hazard": "#e7298a", "appeal": "#1b9e77"}
PAGE_CSS = (
    "<style>.leaflet-container{background:#f4f3ef;font-family:'Noto Sans CJK SC','Noto Sans SC',sans-serif}"
    ".gg-legend{position:fixed;z-index:1000;left:54px;top:10px;background:rgba(255,255,255,.92);"
    "padding:6px 10px;border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.3);font-size:13px;max-width:360px}"
    ".gg-legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}"
    ".leaflet-tooltip.gg-map-label{background:rgba(255,255,255,.75);border:0;box-shadow:none;color:#3f007d;"
    "font-weight:700;font-size:12px;padding:0 3px}.leaflet-tooltip.gg-map-label:before{display:none}</style>"
)


@dataclass(frozen=True)
class HeatData:
    """Heat cells as one JSON text of [lon, lat, count] arrays in the map's CRS, their number, the
    events they hold, and the cell and zoom they were built at."""

    cells_json: str
    cells: int
    total: int
    cell_deg: float
    zoom: int

    def lonlat(self) -> list[list[float]]:
        """The cells as Python lists."""
        return list(json.loads(self.cells_json))


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


def _new_map(title: str, bbox: tuple[float, float, float, float], zoom: int, opts: MapOptions) -> Any:
    """A folium Map in its own Figure: no basemap unless configured, centred on the bbox."""
    import folium

    figure = folium.Figure(title=title)
    (south, west), (north, east) = _bounds(bbox, opts.basemap_crs)
    fmap = folium.Map(
        location=[(south + north) / 2, (west + east) / 2],
        zoom_start=zoom,
        tiles=None,
        control_scale=False,  # metres only, below
        maxZoom=opts.basemap_max_zoom,
        minZoom=q.MIN_ZOOM,
    )
    # maxZoom goes on the map itself: with no tile layer, Leaflet (and markercluster) would have none.
    figure.add_child(fmap)
    metric_scale().add_to(fmap)
    fmap.fit_bounds([[south, west], [north, east]])  # the browser fits the area to its own viewport
    if opts.basemap_url:
        folium.TileLayer(
            tiles=opts.basemap_url,
            attr=opts.basemap_attribution,
            name="底图",
            max_zoom=opts.basemap_max_zoom,
            overlay=False,
            control=False,
        ).add_to(fmap)
    figure.header.add_child(folium.Element(PAGE_CSS), name="gg_css")
    return fmap


def _add_legend(fmap: Any, body: str) -> None:
    """A fixed legend box (HTML, Chinese) in the top-left corner; `body` is markup, placed as is."""
    fmap.get_root().html.add_child(Literal(f'<div class="gg-legend">{body}</div>'), name="gg_legend")


def _area_view(
    session: Session, opts: MapOptions, zoom: int | None
) -> tuple[tuple[float, float, float, float], int]:
    """The area's bbox and the zoom to show it at (fitted unless given)."""
    bbox = q.get_area_extent(session, opts.area)
    return bbox, (zoom if zoom is not None else q.fit_zoom(bbox))


# --- heatmaps -----------------------------------------------------------------------------------


def build_heat(
    session: Session,
    flt: q.EventFilter,
    opts: MapOptions,
    zoom: int | None = None,
    bbox: tuple[float, float, float, float] | None = None,
) -> HeatData:
    """Heat cells of the filter at a zoom (fitted to the area unless given), capped in number.

    `bbox` is the area's extent when the caller already has it (it is measured otherwise).
    """
    bbox = bbox or q.get_area_extent(session, opts.area)
    zoom = zoom if zoom is not None else q.fit_zoom(bbox)
    fitted = q.fit_heat_cells(session, opts.area, flt, q.cell_for_zoom(zoom), opts.heat_max_cells, bbox)
    cells = _cells_in_crs(fitted.json, opts.basemap_crs)
    return HeatData(cells, fitted.cells, fitted.events, fitted.cell_deg, zoom)


def _cells_in_crs(cells_json: str, crs: str) -> str:
    """[lon, lat, count] cells (a JSON text) in the basemap's CRS: as they are in WGS84, shifted else.

    WGS84 cells go from PostGIS to the page without being parsed (16,000 cells: ~45 ms of Python).
    """
    if crs == "wgs84":
        return cells_json
    shifted = latlon(json.loads(cells_json), crs)
    return js_json([[lon, lat, n] for lat, lon, n in shifted])


def _cell_metres(cell_deg: float, lat: float) -> int:
    return round(cell_deg * 111_320 * float(np.cos(np.radians(lat))))


def _filter_text(flt: q.EventFilter) -> str:
    span = f"{flt.since or '最早'} 至 {flt.until or '最新'}"
    extra = "".join(
        f" · {x}" for x in (",".join(flt.categories), ",".join(STATUS_LABELS[s] for s in flt.statuses)) if x
    )
    return html.escape(span + extra)  # category codes are the county's own: text, not markup


def _registry(registry: LayerRegistry | None) -> LayerRegistry:
    from layers.builtin import default_registry

    return registry or default_registry()


def heatmap_html(
    session: Session,
    flt: q.EventFilter,
    opts: MapOptions,
    zoom: int | None = None,
    registry: LayerRegistry | None = None,
) -> str:
    """A weighted heatmap page of one event kind (weights are event counts per PostGIS cell), under the
    outlines of the area and its townships."""
    import folium

    bbox = q.get_area_extent(session, opts.area)
    heat = build_heat(session, flt, opts, zoom, bbox)
    title = f"{KIND_LABELS[flt.kind]}热力图"
    fmap = _new_map(title, bbox, heat.zoom, opts)
    if heat.cells:
        style = {"radius": 14, "blur": 12, "min_opacity": 0.3, "max_zoom": heat.zoom}
        heat_layer(heat.cells_json, name=title, **style).add_to(fmap)
    add_outlines(fmap, session, _registry(registry), opts)
    folium.LayerControl(collapsed=False).add_to(fmap)
    size = _cell_metres(heat.cell_deg, (bbox[1] + bbox[3]) / 2)
    _add_legend(
        fmap,
        f"<b>{title}</b><br>{_filter_text(flt)}<br>共 {heat.total} 件，按约 {size} 米方格聚合为 "
        f"{heat.cells} 个热点（缩放级别 {heat.zoom}）",
    )
    return render_page(fmap, opts.vendor_prefix)


def _weeks(first: date, last: date) -> list[date]:
    """Mondays of the weeks from `first` to `last` (China time, like the SQL's date_trunc)."""
    start = first - timedelta(days=first.weekday())
    return [start + timedelta(weeks=i) for i in range((last - start).days // 7 + 1)]


def _week_label(week: date) -> str:
    year, number, _ = week.isocalendar()
    return f"{year}年第{number:02d}周（{week:%m-%d}起）"


def build_weekly(
    session: Session,
    flt: q.EventFilter,
    opts: MapOptions,
    bbox: tuple[float, float, float, float] | None = None,
) -> tuple[list[str], list[list[Any]], int]:
    """Week labels, per-week [lat, lon, weight 0..1] frames, and the number of events counted.

    `bbox` is the area's extent when the caller already has it (it is measured otherwise).
    """
    last = flt.until or clock.today()
    first = flt.since or last - timedelta(days=364)
    flt = q.EventFilter(flt.kind, first, last, flt.categories, flt.statuses)
    bbox = bbox or q.get_area_extent(session, opts.area)
    zoom = q.fit_zoom(bbox)
    rows = q.fit_weekly_cells(
        session, opts.area, flt, q.cell_for_zoom(zoom, 16), opts.time_max_points, bbox
    ).rows()
    top = max((r[3] for r in rows), default=1)
    weeks = _weeks(first, last)
    frames: dict[date, list[Any]] = {w: [] for w in weeks}
    points = latlon([(r[1], r[2], r[3]) for r in rows], opts.basemap_crs)
    for row, (lat, lon, n) in zip(rows, points, strict=True):
        frames[date.fromisoformat(row[0])].append([lat, lon, round(max(n / top, 0.001), 3)])
    return [_week_label(w) for w in weeks], [frames[w] for w in weeks], sum(r[3] for r in rows)


def heatmap_time_html(
    session: Session, flt: q.EventFilter, opts: MapOptions, registry: LayerRegistry | None = None
) -> str:
    """A weekly HeatMapWithTime page over a year (default: the 52 weeks up to the newest report), under
    the outlines of the area and its townships."""
    import folium

    bbox, zoom = _area_view(session, opts, None)
    labels, frames, total = build_weekly(session, flt, opts, bbox)
    title = f"{KIND_LABELS[flt.kind]}逐周热力图"
    fmap = _new_map(title, bbox, zoom, opts)
    time_heat_layer(
        json.dumps(frames, separators=(",", ":")),
        labels,
        name=title,
        radius=18,
        min_opacity=0.1,
        max_opacity=0.8,
        use_local_extrema=True,
        auto_play=False,
        position="bottomleft",
    ).add_to(fmap)
    add_outlines(fmap, session, _registry(registry), opts)
    folium.LayerControl(collapsed=False).add_to(fmap)
    _add_legend(
        fmap,
        f"<b>{title}</b><br>{labels[0]} 至 {labels[-1]}，共 {len(labels)} 周 {total} 件<br>"
        "每周按方格聚合，颜色为当周相对强度",
    )
    return render_page(fmap, opts.vendor_prefix)


# --- county overview ----------------------------------------------------------------------------

GRID_LEVELS = (  # layer id, title, style, shown at start
    (
        "townships",
        "乡镇（街道）",
        {"color": "#3f007d", "weight": 2.5, "fillOpacity": 0.03, "className": "gg-township"},
        True,
    ),
    (
        "villages",
        "村（社区）",
        {"color": "#6a51a3", "weight": 1.2, "fillOpacity": 0.0, "className": "gg-village"},
        False,
    ),
    (
        "grids",
        "网格",
        {
            "color": "#807dba",
            "weight": 0.6,
            "fillColor": "#bcbddc",
            "fillOpacity": 0.1,
            "className": "gg-grid",
        },
        False,
    ),
)
GRID_TOOLTIPS = {
    "townships": (("name", "code"), ("乡镇（街道）", "编码")),
    "villages": (("name", "township", "code"), ("村（社区）", "所属乡镇", "编码")),
    "grids": (("name", "code", "worker"), ("网格", "编码", "网格员")),
}

# Builds each event marker in the browser from a compact row [lat, lon, category, status, severity,
# date, grid code, id], so a thousand events cost ~60 bytes each instead of a folium Marker apiece.
_EVENT_CALLBACK = """function (row) {
    var cats = %(cats)s, sts = %(sts)s, sev = %(sev)s, g = String(row[6]);
    var m = L.circleMarker(new L.LatLng(row[0], row[1]),
        {radius: 3 + row[4], color: '%(color)s', weight: 1, fillOpacity: 0.75, className: 'gg-event'});
    m.bindPopup('<b>' + cats[row[2]] + '</b><br>编号：' + row[7] + '<br>状态：' + sts[row[3]]
        + '<br>等级：' + sev[row[4]] + '<br>上报日期：' + row[5]
        + '<br>网格：' + [g.slice(0, 6), g.slice(6, 9), g.slice(9, 12), g.slice(12)].join('-'));
    return m;
}"""


def _bind_js(
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


def _fill_by_js(prop: str, colors: dict[Any, str], base: dict[str, Any], class_prefix: str = "") -> str:
    """JavaScript of a style function: `base`, filled with the colour of the feature's `prop` value
    (light grey if none), and with class `class_prefix` + value when a prefix is given."""
    cls = f"s.className = {js_json(class_prefix)} + g; " if class_prefix else ""
    return f"""function (f) {{
        var g = f.properties[{js_json(prop)}], s = {js_json(base)};
        s.fillColor = {js_json({str(k): v for k, v in colors.items()})}[g] || '#f0f0f0'; {cls}return s;
    }}"""


def _add_grid_layers(
    fmap: Any, session: Session, registry: LayerRegistry, opts: MapOptions
) -> dict[str, int]:
    """Townships, villages and small grids as GeoJSON layers with Chinese tooltips; returns counts."""
    counts = {}
    for layer_id, title, style, show in GRID_LEVELS:
        fields, aliases = GRID_TOOLTIPS[layer_id]
        data = layer_collection(session, registry.get(layer_id), opts, fields)
        counts[layer_id] = data.count
        if 0 < data.count <= opts.max_features_per_layer:
            options = layer_options_js(js_json(style), _bind_js("bindTooltip", fields, aliases))
            collection_layer(data.json, options, name=f"{title}（{data.count}）", show=show).add_to(fmap)
    return counts


_FACILITY_MARKER = """function (feature, latlng) {
    return L.circleMarker(latlng, {radius: 5, color: '#252525', weight: 1.5, fill: true,
        fillColor: '#ffffff', fillOpacity: 1.0, className: 'gg-facility'});
}"""


def _add_facilities(fmap: Any, session: Session, registry: LayerRegistry, opts: MapOptions) -> int:
    """Facilities as small white circles with a Chinese popup."""
    fields = ("kind_label", "name", "phone", "grid_code")
    data = layer_collection(session, registry.get("facilities"), opts, fields)
    if 0 < data.count <= opts.max_features_per_layer:  # a province's 22,800 are left to the tiles
        popup = _bind_js("bindPopup", fields, ("类型", "名称", "电话", "网格"))
        options = layer_options_js("{}", popup, _FACILITY_MARKER)
        collection_layer(data.json, options, name=f"综治设施（{data.count}）").add_to(fmap)
    return data.count


def _event_rows(rows: list[Any], kind: str, cats: list[str]) -> list[tuple[Any, ...]]:
    """Compact marker rows (lon, lat, category index, status index, severity, date, grid code, id)."""
    statuses = list(STATUS_LABELS)
    return [
        (
            r.lon,
            r.lat,
            cats.index(r.category),
            statuses.index(r.status),
            r.severity,
            clock.local(r.reported_at).strftime("%Y-%m-%d"),
            r.grid_code,
            r.id,
        )
        for r in rows
        if r.kind == kind
    ]


def _add_event_clusters(fmap: Any, session: Session, opts: MapOptions) -> dict[str, tuple[int, int]]:
    """Open and recent events (capped per kind) as one FastMarkerCluster per kind; kind -> (shown, total)."""
    from folium.plugins import FastMarkerCluster

    rows = q.list_map_events(
        session, opts.area, as_of=clock.now(), recent_days=opts.recent_days, per_kind=opts.events_per_kind
    )
    labels = q.list_category_labels(session)
    cats = list(labels)
    shown = {}
    for kind, title in KIND_LABELS.items():
        mine = _event_rows(rows, kind, cats)
        shown[kind] = (len(mine), max((r.total for r in rows if r.kind == kind), default=0))
        if not mine:
            continue
        callback = _EVENT_CALLBACK % {
            "cats": js_json([labels[c] for c in cats]),
            "sts": js_json(list(STATUS_LABELS.values())),
            "sev": js_json(SEVERITY_LABELS),
            "color": KIND_COLORS[kind],
        }
        FastMarkerCluster(  # type: ignore[no-untyped-call]
            latlon(mine, opts.basemap_crs),
            callback=callback,
            name=f"{title}（{len(mine)}）",
            maxClusterRadius=50,
        ).add_to(fmap)
    return shown


def _county_legend(
    counts: dict[str, int], facilities: int, shown: dict[str, tuple[int, int]], days: int, cap: int
) -> str:
    """The county legend: grid counts (or that a layer was too big to draw), events shown of all."""
    events = "；".join(
        f'<i style="background:{KIND_COLORS[k]};border-radius:6px"></i>{KIND_LABELS[k]} {n}'
        + (f"（共 {total} 件，仅显示最新 {n} 件）" if n < total else " 件")
        for k, (n, total) in shown.items()
    )
    shown_counts = {
        k: (f"{n}" if n <= cap else f"超过 {cap}（未绘制，请用矢量瓦片）") for k, n in counts.items()
    }
    return (
        f"<b>网格化社会治理一张图</b><br>乡镇 {shown_counts.get('townships', 0)} 个 · "
        f"村（社区）{shown_counts.get('villages', 0)} 个 · 网格 {shown_counts.get('grids', 0)} 个 · "
        f"设施 {f'{facilities} 处' if facilities <= cap else f'超过 {cap} 处（未绘制）'}<br>"
        f"事件（未结及近 {days} 天上报，点聚合）：<br>{events}"
    )


def county_map_html(session: Session, registry: LayerRegistry, opts: MapOptions) -> str:
    """The county overview: grids by level, open and recent events clustered, facilities."""
    import folium

    bbox, zoom = _area_view(session, opts, None)
    fmap = _new_map("网格化社会治理一张图", bbox, zoom, opts)
    counts = _add_grid_layers(fmap, session, registry, opts)
    facilities = _add_facilities(fmap, session, registry, opts)
    shown = _add_event_clusters(fmap, session, opts)
    folium.LayerControl(collapsed=False).add_to(fmap)
    _add_legend(
        fmap, _county_legend(counts, facilities, shown, opts.recent_days, opts.max_features_per_layer)
    )
    return render_page(fmap, opts.vendor_prefix)


# --- risk choropleth ----------------------------------------------------------------------------

RISK_FIELDS = ("name", "township", "code", "open_events", "overdue", "resolution_rate", "grade_label")
RISK_ALIASES = ("网格", "所属乡镇", "编码", "未结案件", "超期件数", "化解率", "风险等级")
RISK_NAMES = vocabulary.zh(vocabulary.GRADES)
RISK_STYLE = {"color": "#636363", "weight": 0.6, "fillOpacity": 0.65}


def risk_map_html(session: Session, registry: LayerRegistry, opts: MapOptions) -> str:
    """Three-colour (red / yellow / green) choropleth of the small grids with Chinese tooltips."""
    import folium

    layer = registry.get("risk")
    layer.require("choropleth")
    data = layer_collection(session, layer, opts, (*RISK_FIELDS, "grade"), tally_by="grade")
    grades = {g: data.tally.get(g, 0) for g in RISK_NAMES}
    bbox, zoom = _area_view(session, opts, None)
    fmap = _new_map("网格风险等级", bbox, zoom, opts)
    if data.count:
        style = _fill_by_js("grade", vocabulary.GRADE_COLORS, RISK_STYLE, class_prefix="gg-risk gg-risk-")
        tooltip = _bind_js("bindTooltip", RISK_FIELDS, RISK_ALIASES, percent=("resolution_rate",))
        name = f"网格风险等级（{data.count}）"
        collection_layer(data.json, layer_options_js(style, tooltip), name=name).add_to(fmap)
    add_outlines(fmap, session, registry, opts)
    folium.LayerControl(collapsed=False).add_to(fmap)
    _add_legend(
        fmap,
        "<b>网格风险等级</b><br>"
        + "<br>".join(
            f'<i style="background:{vocabulary.GRADE_COLORS[g]}"></i>{RISK_NAMES[g]}：{n} 个网格'
            for g, n in grades.items()
        )
        + "<br>依据未结案件（按严重程度加权）、超期件数、重复发生点位与近期趋势评定"
        + f"<br>评定时刻：{clock.show(graded_as_of(session, opts.area)) or '尚未评定'}",
    )
    return render_page(fmap, opts.vendor_prefix)
