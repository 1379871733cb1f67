"""The risk choropleth page: the small grids in three colours (red / yellow / green), Chinese tooltips.

The grades are the risk job's (geo.analytics.risk); built with the scaffolding of layers.folium_maps.
"""

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from geo import clock, vocabulary
from geo.analytics.risk import graded_as_of
from layers.folium_data import Collection, MapOptions, layer_collection, layer_options_js
from layers.folium_maps import add_legend, area_view, bind_js, fill_by_js, finish_map, new_map
from layers.folium_page import collection_layer, render_page
from layers.registry import LayerRegistry

RISK_FIELDS = ("name", "township", "code", "open_events", "overdue", "resolution_rate", "grade_label")
RISK_ALIASES = ("网格", "所属乡镇", "编码", "未结案件", "超期件数", "化解率", "风险等级")
RISK_NAMES = vocabulary.zh(vocabulary.GRADES)
RISK_STYLE = {"color": "#636363", "weight": 0.6, "fillOpacity": 0.65}


def risk_map_html(session: Session, registry: LayerRegistry, opts: MapOptions) -> str:
    """Three-colour (red / yellow / green) choropleth of the small grids with Chinese tooltips."""
    layer = registry.get("risk")
    layer.require("choropleth")
    data = layer_collection(session, layer, opts, (*RISK_FIELDS, "grade"), tally_by="grade")
    grades = {g: data.tally.get(g, 0) for g in RISK_NAMES}
    bbox, zoom = area_view(session, opts, None)
    fmap = new_map("网格风险等级", bbox, zoom, opts)
    _add_grades(fmap, data)
    finish_map(fmap, session, registry, opts)
    add_legend(fmap, _risk_legend(grades, graded_as_of(session, opts.area)))
    return render_page(fmap, opts.vendor_prefix)


def _add_grades(fmap: Any, data: Collection) -> None:
    """The graded small grids, filled by grade (a class per grade), with a tooltip of their figures."""
    if data.count:
        style = fill_by_js("grade", vocabulary.GRADE_COLORS, RISK_STYLE, class_prefix="gg-risk gg-risk-")
        tooltip = bind_js("bindTooltip", RISK_FIELDS, RISK_ALIASES, percent=("resolution_rate",))
        name = f"网格风险等级（{data.count}）"
        collection_layer(data.json, layer_options_js(style, tooltip), name=name).add_to(fmap)


def _risk_legend(grades: dict[str, int], as_of: datetime | None) -> str:
    """The legend: the grids of each grade, how grades are set, and when they were (or 尚未评定)."""
    return (
        "<b>网格风险等级</b><br>"
        + "<br>".join(
            f'<i style="background:{vocabulary.GRADE_COLORS[g]}"></i>{RISK_NAMES[g]}：{n} 个网格'
            for g, n in grades.items()
        )
        + "<br>依据未结案件（按严重程度加权）、超期件数、重复发生点位与近期趋势评定"
        + f"<br>评定时刻：{clock.show(as_of) or '尚未评定'}"
    )
