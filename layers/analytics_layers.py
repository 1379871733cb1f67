"""Analytics map layers: Gi* hot spots (small grids, hexagons) and emerging hot spots.

They read the newest stored run of the requester's area, written by the analytics jobs (geo.jobs), so
OGC items, tiles and Folium maps serve them like any other layer; reading one never computes anything.
Each row carries its run's `computed_at`.
"""

from geo.analytics.emerging import CATEGORY_COLORS, EMERGING_COLUMNS, emerging_source
from geo.analytics.hotspots import HOTSPOT_COLUMNS, hotspots_source
from layers.model import LayerDef, choropleth_style

# Gi* classes: ColorBrewer RdBu, hot red and cold blue, stronger with confidence.
HOTSPOT_COLORS = {
    3: "#b2182b",
    2: "#ef8a62",
    1: "#fddbc7",
    0: "#f7f7f7",
    -1: "#d1e5f0",
    -2: "#67a9cf",
    -3: "#2166ac",
}


def _hotspots(layer_id: str, unit: str, title: str) -> LayerDef:
    return LayerDef(
        id=layer_id,
        title=title,
        description=f"{title}：经验贝叶斯平滑的案件率（件/平方公里），Gi* 解析 z 值（双侧检验）"
        "与错误发现率校正，按99%、95%、90%置信度划分冷热点",
        geometry_type="MultiPolygon",
        source=lambda area: hotspots_source(area, unit),
        properties=HOTSPOT_COLUMNS[2:],
        filters={"class": "str", "confidence": "int", "township": "str", "grid_code": "str"},
        style=choropleth_style("confidence", HOTSPOT_COLORS, weight=0.5, fill_opacity=0.7),
        renderers=frozenset({"geojson", "mvt", "choropleth"}),
        min_zoom=6,
        changes=("analytics", "grids"),
    )


def analytics_layers() -> list[LayerDef]:
    """The analytics layers (fresh objects)."""
    return [
        _hotspots("hotspots", "grid", "网格冷热点（Gi*）"),
        _hotspots("hotspots_hex", "hex", "六边形冷热点（Gi*）"),
        _emerging(),
    ]


def _emerging() -> LayerDef:
    return LayerDef(
        id="emerging",
        title="新兴热点",
        description="按周统计的 Gi* 得分经 Mann-Kendall 趋势检验，划分新增、连续、加剧、持续、"
        "减弱、零星、振荡、历史热点（及对应冷点）",
        geometry_type="MultiPolygon",
        source=lambda area: emerging_source(area),
        properties=EMERGING_COLUMNS[2:],
        filters={"category": "str", "township": "str", "grid_code": "str"},
        style=choropleth_style("category", CATEGORY_COLORS, weight=0.5, fill_opacity=0.7),
        renderers=frozenset({"geojson", "mvt", "choropleth"}),
        min_zoom=6,
        changes=("analytics", "grids"),
    )
