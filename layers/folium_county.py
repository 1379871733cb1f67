"""The county overview page: grids by level, open and recent events clustered, facilities.

Built with the scaffolding of layers.folium_maps; folium is imported inside the functions. Features come
from the layer registry, capped per layer; events are capped per kind (geo.queries.mapview).
"""

from typing import Any

from sqlalchemy.orm import Session

from geo import clock, vocabulary
from geo.queries.event_filter import list_category_labels
from geo.queries.mapview import list_map_events
from layers.folium_data import MapOptions, layer_collection, layer_options_js
from layers.folium_maps import KIND_LABELS, STATUS_LABELS, add_legend, area_view, bind_js, latlon, new_map
from layers.folium_page import collection_layer, js_json, render_page
from layers.registry import LayerRegistry

SEVERITY_LABELS = vocabulary.zh(vocabulary.SEVERITIES)
KIND_COLORS = {"dispute": "#d95f02", "hazard": "#e7298a", "appeal": "#1b9e77"}

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
            options = layer_options_js(js_json(style), bind_js("bindTooltip", fields, aliases))
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
        popup = bind_js("bindPopup", fields, ("类型", "名称", "电话", "网格"))
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
    rows = list_map_events(
        session, opts.area, as_of=clock.now(), recent_days=opts.recent_days, per_kind=opts.events_per_kind
    )
    labels = list_category_labels(session)
    cats = list(labels)
    shown = {}
    for kind, title in KIND_LABELS.items():
        mine = _event_rows(rows, kind, cats)
        shown[kind] = (len(mine), max((r.total for r in rows if r.kind == kind), default=0))
        if mine:
            points = latlon(mine, opts.basemap_crs)
            _add_cluster(fmap, points, _event_callback(labels, cats, kind), f"{title}（{len(mine)}）")
    return shown


def _event_callback(labels: dict[str, str], cats: list[str], kind: str) -> str:
    """The JavaScript that builds a marker of the kind from a compact row, with its Chinese labels."""
    return _EVENT_CALLBACK % {
        "cats": js_json([labels[c] for c in cats]),
        "sts": js_json(list(STATUS_LABELS.values())),
        "sev": js_json(SEVERITY_LABELS),
        "color": KIND_COLORS[kind],
    }


def _add_cluster(fmap: Any, points: list[list[Any]], callback: str, name: str) -> None:
    """One FastMarkerCluster layer of [lat, lon, ...] rows, each marker made in the browser by `callback`."""
    from folium.plugins import FastMarkerCluster

    FastMarkerCluster(  # type: ignore[no-untyped-call]
        points,
        callback=callback,
        name=name,
        maxClusterRadius=50,
    ).add_to(fmap)


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

    bbox, zoom = area_view(session, opts, None)
    fmap = new_map("网格化社会治理一张图", bbox, zoom, opts)
    counts = _add_grid_layers(fmap, session, registry, opts)
    facilities = _add_facilities(fmap, session, registry, opts)
    shown = _add_event_clusters(fmap, session, opts)
    folium.LayerControl(collapsed=False).add_to(fmap)
    add_legend(fmap, _county_legend(counts, facilities, shown, opts.recent_days, opts.max_features_per_layer))
    return render_page(fmap, opts.vendor_prefix)
