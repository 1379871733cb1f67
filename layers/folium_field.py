"""The field-work map page (走访覆盖图): coverage of the small grids in a period as a choropleth, with the
period's patrol tracks and household visits over it; Chinese legend and tooltips, fully offline.

Built from the registry's layers (coverage, tracks, visits) with the scaffolding of layers.folium_maps;
folium is imported inside the function, as there.
"""

from typing import Any

from sqlalchemy.orm import Session

from geo import vocabulary
from layers.folium_data import Collection, MapOptions, add_outlines, layer_collection, layer_options_js
from layers.folium_maps import add_legend, area_view, bind_js, fill_by_js, new_map
from layers.folium_page import collection_layer, js_json, render_page
from layers.query import LayerQuery, TimeRange
from layers.registry import LayerRegistry

COVERAGE_FIELDS = ("name", "code", "township", "worker", "visits", "patrols", "status_label")
COVERAGE_ALIASES = ("网格", "编码", "所属乡镇", "网格员", "走访（户次）", "巡查（人）", "覆盖情况")
COVERAGE_STYLE = {"color": "#636363", "weight": 0.5, "fillOpacity": 0.6}
TRACK_FIELDS = ("worker", "day", "length_m")
VISIT_FIELDS = ("worker", "at", "address")
TRACK_STYLE = {"color": "#6a3d9a", "weight": 3, "opacity": 0.85, "className": "gg-track"}
_VISIT_MARKER = """function (feature, latlng) {
    return L.circleMarker(latlng, {radius: 4, color: '#ffffff', weight: 1, fill: true,
        fillColor: '#1f78b4', fillOpacity: 0.9, className: 'gg-visit'});
}"""


def _add_coverage(fmap: Any, data: Collection) -> None:
    if data.count:
        style = fill_by_js("status", vocabulary.COVERAGE_COLORS, COVERAGE_STYLE, class_prefix="gg-coverage-")
        options = layer_options_js(style, bind_js("bindTooltip", COVERAGE_FIELDS, COVERAGE_ALIASES))
        collection_layer(data.json, options, name=f"走访覆盖（{data.count}）").add_to(fmap)


def _add_tracks(fmap: Any, data: Collection) -> None:
    if data.count:
        tip = bind_js("bindTooltip", TRACK_FIELDS, ("网格员", "日期", "里程（米）"))
        options = layer_options_js(js_json(TRACK_STYLE), tip)
        collection_layer(data.json, options, name=f"巡查轨迹（{data.count}）").add_to(fmap)


def _add_visits(fmap: Any, data: Collection) -> None:
    if data.count:
        popup = bind_js("bindPopup", VISIT_FIELDS, ("网格员", "时间", "地址"))
        options = layer_options_js("{}", popup, _VISIT_MARKER)
        collection_layer(data.json, options, name=f"入户走访（{data.count}）").add_to(fmap)


def _legend(period_label: str, grids: Collection, tracks: Collection, visits: Collection) -> str:
    labels = vocabulary.zh(vocabulary.COVERAGE)
    covered = grids.count - grids.tally.get("none", 0)
    share = f"{covered / grids.count * 100:.1f}%" if grids.count else "—"
    colors = vocabulary.COVERAGE_COLORS
    rows = "<br>".join(
        f'<i style="background:{colors[k]}"></i>{labels[k]}：{grids.tally.get(k, 0)} 个网格' for k in labels
    )
    return (
        f"<b>走访覆盖（{period_label}）</b><br>{rows}<br>覆盖率 {share}（有走访或巡查轨迹经过的网格）"
        f"<br>巡查轨迹 {tracks.count} 条 · 入户走访 {visits.count} 户次"
    )


def _field_collections(
    session: Session, registry: LayerRegistry, opts: MapOptions, query: LayerQuery
) -> tuple[Collection, Collection, Collection]:
    """The period's coverage of the small grids (tallied by status), its tracks and its visits."""
    coverage = registry.get("coverage")
    coverage.require("choropleth")
    grids = layer_collection(session, coverage, opts, (*COVERAGE_FIELDS, "status"), "status", query)
    tracks = layer_collection(session, registry.get("tracks"), opts, TRACK_FIELDS, query=query)
    visits = layer_collection(session, registry.get("visits"), opts, VISIT_FIELDS, query=query)
    return grids, tracks, visits


def coverage_map_html(
    session: Session, registry: LayerRegistry, opts: MapOptions, time: TimeRange, period_label: str
) -> str:
    """Coverage (已走访 / 仅巡查 / 未覆盖) of every small grid in the period, with its tracks and visits."""
    import folium

    grids, tracks, visits = _field_collections(session, registry, opts, LayerQuery(area=opts.area, time=time))
    bbox, zoom = area_view(session, opts, None)
    fmap = new_map(f"走访覆盖（{period_label}）", bbox, zoom, opts)
    _add_coverage(fmap, grids)
    add_outlines(fmap, session, registry, opts)  # the county's and townships' outlines and names
    _add_tracks(fmap, tracks)
    _add_visits(fmap, visits)
    folium.LayerControl(collapsed=False).add_to(fmap)
    add_legend(fmap, _legend(period_label, grids, tracks, visits))
    return render_page(fmap, opts.vendor_prefix)
