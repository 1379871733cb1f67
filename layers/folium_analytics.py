"""Folium pages of the analytics layers: Gi* hot and cold spots, emerging hot spots (Chinese legends).

Built with the scaffolding of layers.folium_maps (vendored assets, optional local basemap, CJK text);
folium is imported inside the functions, as there.
"""

from typing import Any

from sqlalchemy.orm import Session

from geo.analytics.emerging import CATEGORY_COLORS, LABELS
from geo.analytics.hotspots import CLASS_LABELS
from layers.analytics_layers import HOTSPOT_COLORS
from layers.folium_maps import (
    MapOptions,
    _add_legend,
    _area_view,
    _bind_js,
    _new_map,
    layer_features,
)
from layers.folium_page import render_page
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


def _choropleth(
    fmap: Any, data: dict, name: str, by: str, colors: dict, fields: tuple, aliases: tuple
) -> None:
    import folium

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        value = feature["properties"][by]
        return {
            "color": "#636363",
            "weight": 0.5,
            "fillColor": colors.get(value, "#f0f0f0"),
            "fillOpacity": 0.75,
        }

    if data["features"]:
        folium.GeoJson(
            data, name=name, style_function=style, on_each_feature=_bind_js("bindTooltip", fields, aliases)
        ).add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)


def _tally(data: dict, by: str) -> dict[Any, int]:
    out: dict[Any, int] = {}
    for f in data["features"]:
        out[f["properties"][by]] = out.get(f["properties"][by], 0) + 1
    return out


def hotspots_map_html(
    session: Session, registry: LayerRegistry, opts: MapOptions, layer_id: str = "hotspots"
) -> str:
    """Gi* hot and cold spots (small grids or hexagons) coloured by confidence, with a Chinese legend."""
    layer = registry.get(layer_id)
    layer.require("choropleth")
    data = layer_features(session, layer, opts, (*HOT_FIELDS, "confidence"))
    bbox, zoom = _area_view(session, opts, None)
    fmap = _new_map(layer.title, bbox, zoom, opts)
    _choropleth(
        fmap,
        data,
        f"{layer.title}（{len(data['features'])}）",
        "confidence",
        HOTSPOT_COLORS,
        HOT_FIELDS,
        HOT_ALIASES,
    )
    counts = _tally(data, "confidence")
    rows = [
        f'<i style="background:{HOTSPOT_COLORS[k]}"></i>{CLASS_LABELS[k]}：{counts.get(k, 0)}'
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
    data = layer_features(session, layer, opts, (*EMERGING_FIELDS, "category"))
    bbox, zoom = _area_view(session, opts, None)
    fmap = _new_map(layer.title, bbox, zoom, opts)
    _choropleth(
        fmap,
        data,
        f"{layer.title}（{len(data['features'])}）",
        "category",
        CATEGORY_COLORS,
        EMERGING_FIELDS,
        EMERGING_ALIASES,
    )
    counts = _tally(data, "category")
    rows = [
        f'<i style="background:{CATEGORY_COLORS[k]}"></i>{LABELS[k]}：{n}'
        for k, n in sorted(counts.items(), key=lambda kv: list(LABELS).index(kv[0]))
    ]
    _add_legend(fmap, f"<b>{layer.title}</b>（按周 Gi* 与 Mann-Kendall 趋势）<br>" + "<br>".join(rows))
    return render_page(fmap, opts.vendor_prefix)
