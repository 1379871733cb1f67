"""Folium pages of the analytics layers: Gi* hot and cold spots, emerging hot spots (Chinese legends).

Built with the scaffolding of layers.folium_maps (vendored assets, optional local basemap, CJK text);
folium is imported inside the functions, as there.
"""

from typing import Any

from sqlalchemy.orm import Session

from geo.analytics.emerging import CATEGORY_COLORS, LABELS
from geo.analytics.hotspots import CLASS_LABELS
from layers.analytics_layers import HOTSPOT_COLORS
from layers.folium_data import Collection, MapOptions, add_outlines, layer_collection, layer_options_js
from layers.folium_maps import _add_legend, _area_view, _bind_js, _fill_by_js, _new_map
from layers.folium_page import collection_layer, render_page
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
        style = _fill_by_js(by, colors, CHOROPLETH_STYLE)
        options = layer_options_js(style, _bind_js("bindTooltip", fields, aliases))
        collection_layer(data.json, options, name=name).add_to(fmap)


def _finish(fmap: Any, session: Session, registry: LayerRegistry, opts: MapOptions) -> None:
    """Outlines of the area and its townships over the cells, then the layer control."""
    import folium

    add_outlines(fmap, session, registry, opts)
    folium.LayerControl(collapsed=False).add_to(fmap)


def hotspots_map_html(
    session: Session, registry: LayerRegistry, opts: MapOptions, layer_id: str = "hotspots"
) -> str:
    """Gi* hot and cold spots (small grids or hexagons) coloured by confidence, with a Chinese legend."""
    layer = registry.get(layer_id)
    layer.require("choropleth")
    data = layer_collection(session, layer, opts, (*HOT_FIELDS, "confidence"), tally_by="confidence")
    bbox, zoom = _area_view(session, opts, None)
    fmap = _new_map(layer.title, bbox, zoom, opts)
    _choropleth(
        fmap,
        data,
        f"{layer.title}（{data.count}）",
        "confidence",
        HOTSPOT_COLORS,
        HOT_FIELDS,
        HOT_ALIASES,
    )
    _finish(fmap, session, registry, opts)
    rows = [
        f'<i style="background:{HOTSPOT_COLORS[k]}"></i>{CLASS_LABELS[k]}：{data.tally.get(str(k), 0)}'
        for k in sorted(CLASS_LABELS, reverse=True)
    ]
    _add_legend(
        fmap, f"<b>{layer.title}</b><br>" + "<br>".join(rows) + "<br>经验贝叶斯平滑，999次置换检验，FDR校正"
    )
    return render_page(fmap, opts.vendor_prefix)


def emerging_map_html(session: Session, registry: LayerRegistry, opts: MapOptions) -> str:
    """Emerging hot spot categories of the small grids, with a Chinese legend of the categories present."""
    layer = registry.get("emerging")
    layer.require("choropleth")
    data = layer_collection(session, layer, opts, (*EMERGING_FIELDS, "category"), tally_by="category")
    bbox, zoom = _area_view(session, opts, None)
    fmap = _new_map(layer.title, bbox, zoom, opts)
    _choropleth(
        fmap,
        data,
        f"{layer.title}（{data.count}）",
        "category",
        CATEGORY_COLORS,
        EMERGING_FIELDS,
        EMERGING_ALIASES,
    )
    _finish(fmap, session, registry, opts)
    rows = [
        f'<i style="background:{CATEGORY_COLORS[k]}"></i>{LABELS[k]}：{n}'
        for k, n in sorted(data.tally.items(), key=lambda kv: list(LABELS).index(kv[0]))
    ]
    _add_legend(fmap, f"<b>{layer.title}</b>（按周 Gi* 与 Mann-Kendall 趋势）<br>" + "<br>".join(rows))
    return render_page(fmap, opts.vendor_prefix)
