"""Folium pages of the analytics layers: Gi* hot and cold spots, emerging hot spots (Chinese legends).

Built with the scaffolding of layers.folium_maps (vendored assets, optional local basemap, CJK text);
folium is imported inside the functions, as there.
"""

from typing import Any

from sqlalchemy.orm import Session

from geo import clock
from geo.analytics import answers
from geo.analytics.emerging import CATEGORY_COLORS, LABELS
from geo.analytics.hotspots import CLASS_LABELS
from layers.analytics_layers import HOTSPOT_COLORS
from layers.folium_data import Collection, MapOptions, layer_collection, layer_options_js
from layers.folium_maps import add_legend, area_view, bind_js, fill_by_js, finish_map, new_map
from layers.folium_page import collection_layer, js_json, render_page
from layers.model import LayerDef
from layers.registry import LayerRegistry

HOT_FIELDS = ("grid_code", "township", "events", "rate", "eb_rate", "z", "p", "class_label")
HOT_ALIASES = (
    "网格编码",
    "所属乡镇",
    "案件数",
    "案件率（件/km²）",
    "平滑后案件率",
    "Gi* z 值",
    "p 值",
    "类别",
)
EMERGING_FIELDS = ("grid_code", "township", "category_label", "hot_bins", "cold_bins", "trend_z", "trend_p")
EMERGING_ALIASES = ("网格编码", "所属乡镇", "类别", "热点周数", "冷点周数", "趋势 z 值", "趋势 p 值")


CHOROPLETH_STYLE = {"color": "#636363", "weight": 0.5, "fillOpacity": 0.75}


def _choropleth(
    fmap: Any, data: Collection, name: str, by: str, colors: dict, fields: tuple, aliases: tuple
) -> None:

    if data.count:
        style = fill_by_js(by, colors, CHOROPLETH_STYLE)
        options = layer_options_js(style, bind_js("bindTooltip", fields, aliases))
        collection_layer(data.json, options, name=name).add_to(fmap)


def _cells_page(
    session: Session,
    registry: LayerRegistry,
    opts: MapOptions,
    layer: LayerDef,
    by: str,
    colors: dict,
    fields: tuple,
    aliases: tuple,
) -> tuple[Collection, Any]:
    """A page of the layer's cells coloured by `by`, under the outlines and the layer control, before its
    legend: the cells (tallied by `by`) and the map."""
    layer.require("choropleth")
    data = layer_collection(session, layer, opts, (*fields, by), tally_by=by)
    bbox, zoom = area_view(session, opts, None)
    fmap = new_map(layer.title, bbox, zoom, opts)
    _choropleth(fmap, data, f"{layer.title}（{data.count}）", by, colors, fields, aliases)
    finish_map(fmap, session, registry, opts)
    return data, fmap


# Wide areas (province, city: 2 or 4 digits) are drawn per county: the share of its cells flagged.
_SHARE_STYLE = """function (f) {
    var s = f.properties.share || 0, c = %s;
    var fill = s >= 0.2 ? c[4] : s >= 0.1 ? c[3] : s >= 0.05 ? c[2] : s > 0 ? c[1] : c[0];
    return {color: '#636363', weight: 0.8, fillColor: fill, fillOpacity: 0.75, className: 'gg-unit'};
}"""
_SHARE_BANDS = ("0", "< 5%", "5–10%", "10–20%", "≥ 20%")
_SHARE_COLORS = {
    "hotspots": ("#f7f7f7", "#fddbc7", "#f4a582", "#d6604d", "#b2182b"),
    "emerging": ("#f7f7f7", "#fee0d2", "#fc9272", "#ef3b2c", "#a50f15"),
    "risk": ("#f7f7f7", "#fee0d2", "#fc9272", "#ef3b2c", "#a50f15"),
}
_UNIT_TEXT = {
    "hotspots": ("热点网格", "冷点网格"),
    "emerging": ("新兴热点类网格", "冷点类网格"),
    "risk": ("红色网格", "黄色网格"),
}


def is_wide(opts: MapOptions) -> bool:
    """A province's or a city's page: drawn per county, not per cell."""
    return len(opts.area) <= 4


def units_map_html(session: Session, opts: MapOptions, analysis: str, title: str, unit: str = "grid") -> str:
    """The counties of a wide area coloured by the share of their cells flagged, as last computed."""
    import folium

    data = answers.unit_shapes(session, opts.area, analysis, unit=unit)
    bbox, zoom = area_view(session, opts, None)
    fmap = new_map(title, bbox, zoom, opts)
    _add_units(fmap, data["json"], analysis, f"{title}（按县汇总）")
    folium.LayerControl(collapsed=False).add_to(fmap)
    add_legend(fmap, _units_legend(title, analysis, data))
    return render_page(fmap, opts.vendor_prefix)


def _add_units(fmap: Any, units_json: str, analysis: str, name: str) -> None:
    """The counties, filled by the share of their cells flagged, with a tooltip of their counts."""
    flagged, other = _UNIT_TEXT[analysis]
    fields, aliases = (
        ("name", "cells", "flagged", "other", "share"),
        ("县（区）", "单元", flagged, other, "占比"),
    )
    options = layer_options_js(
        _SHARE_STYLE % js_json(list(_SHARE_COLORS[analysis])),
        bind_js("bindTooltip", fields, aliases, percent=("share",)),
    )
    collection_layer(units_json, options, name=name).add_to(fmap)


def _units_legend(title: str, analysis: str, data: dict[str, Any]) -> str:
    """The legend of a per-county page: the share bands, the cells flagged of all, when computed."""
    flagged, other = _UNIT_TEXT[analysis]
    rows = "<br>".join(
        f'<i style="background:{c}"></i>{b}'
        for c, b in zip(_SHARE_COLORS[analysis], _SHARE_BANDS, strict=True)
    )
    return (
        f"<b>{title}</b>（按县汇总：{flagged}占比）<br>{rows}<br>共 {data['cells']} 个单元，"
        f"{flagged} {data['flagged']} 个，{other} {data['other']} 个<br>{computed_text(data['computed_at'])}"
    )


def computed_text(at: object) -> str:
    """When an analysis was computed, as the legends say it (北京时间), or that it has not been yet."""
    return f"计算于 {clock.show(at)}" if at else "尚未计算（分析作业完成后显示）"


def hotspots_map_html(
    session: Session, registry: LayerRegistry, opts: MapOptions, layer_id: str = "hotspots"
) -> str:
    """Gi* hot and cold spots (small grids or hexagons) coloured by confidence, with a Chinese legend;
    per county for a province or a city."""
    unit = "grid" if layer_id == "hotspots" else "hex"
    if is_wide(opts):
        return units_map_html(session, opts, "hotspots", registry.get(layer_id).title, unit)
    layer = registry.get(layer_id)
    data, fmap = _cells_page(
        session, registry, opts, layer, "confidence", HOTSPOT_COLORS, HOT_FIELDS, HOT_ALIASES
    )
    run = answers.latest_run(session, "hotspots", unit, opts.area)
    add_legend(fmap, _hotspots_legend(layer.title, data.tally, run[1] if run else None))
    return render_page(fmap, opts.vendor_prefix)


def _hotspots_legend(title: str, tally: dict[str, int], computed_at: object) -> str:
    """The legend: the cells of each Gi* class, the method, when it was computed."""
    rows = [
        f'<i style="background:{HOTSPOT_COLORS[k]}"></i>{CLASS_LABELS[k]}：{tally.get(str(k), 0)}'
        for k in sorted(CLASS_LABELS, reverse=True)
    ]
    return (
        f"<b>{title}</b><br>" + "<br>".join(rows) + "<br>经验贝叶斯平滑，Gi* 解析 z 值（双侧），FDR校正"
        f"<br>{computed_text(computed_at)}"
    )


def emerging_map_html(session: Session, registry: LayerRegistry, opts: MapOptions) -> str:
    """Emerging hot spot categories of the small grids, with a Chinese legend of the categories present;
    per county for a province or a city."""
    if is_wide(opts):
        return units_map_html(session, opts, "emerging", registry.get("emerging").title)
    layer = registry.get("emerging")
    data, fmap = _cells_page(
        session, registry, opts, layer, "category", CATEGORY_COLORS, EMERGING_FIELDS, EMERGING_ALIASES
    )
    run = answers.latest_run(session, "emerging", "grid", opts.area)
    add_legend(fmap, _emerging_legend(layer.title, data.tally, run[1] if run else None))
    return render_page(fmap, opts.vendor_prefix)


def _emerging_legend(title: str, tally: dict[str, int], computed_at: object) -> str:
    """The legend: the cells of each category present, in the categories' order, when computed."""
    rows = [
        f'<i style="background:{CATEGORY_COLORS[k]}"></i>{LABELS[k]}：{n}'
        for k, n in sorted(tally.items(), key=lambda kv: list(LABELS).index(kv[0]))
    ]
    return (
        f"<b>{title}</b>（按周 Gi* 与 Mann-Kendall 趋势）<br>"
        + "<br>".join(rows)
        + f"<br>{computed_text(computed_at)}"
    )
