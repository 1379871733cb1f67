"""Our layers, declared as data and registered through the same call any later layer uses."""

from functools import lru_cache

from geo import vocabulary
from geo.analytics.risk import RISK_COLUMNS, risk_source
from geo.queries import layers as q
from layers.model import LayerDef, choropleth_style
from layers.registry import LayerRegistry

SEVERITY_COLORS = {1: "#fdd49e", 2: "#fc8d59", 3: "#e34a33", 4: "#b30000"}
EVENT_FILTERS = {"category": "str", "status": "str", "severity": "int", "township": "str", "grid_code": "str"}


def _events_layer(kind: str, layer_id: str, title: str, color: str) -> LayerDef:
    return LayerDef(
        id=layer_id,
        title=title,
        description=f"{title}的位置、类别、严重程度与办理状态（不含当事人信息）",
        geometry_type="Point",
        source=lambda area: q.events_source(area, kind),
        properties=q.EVENT_COLUMNS[2:],
        filters=EVENT_FILTERS,
        datetime_column="reported_at",
        style={"color": color, "radius": 5, "by": "severity", "colors": SEVERITY_COLORS},
        renderers=frozenset({"geojson", "mvt", "heatmap"}),
        kind="event",
        weight="severity",
        cells=lambda area, level: q.event_cells_source(area, kind, level),
        changes=("events", "categories", "grids"),
    )


def builtin_layers() -> list[LayerDef]:
    """The built-in layers (fresh objects; cheap)."""
    return [
        _townships_layer(),
        _villages_layer(),
        _grids_layer(),
        _events_layer("dispute", "disputes", "矛盾纠纷", "#d95f02"),
        _events_layer("hazard", "hazards", "安全隐患", "#e7298a"),
        _events_layer("appeal", "appeals", "群众诉求", "#1b9e77"),
        _workers_layer(),
        _facilities_layer(),
        _risk_layer(),
    ]


def _townships_layer() -> LayerDef:
    return LayerDef(
        id="townships",
        title="乡镇（街道）",
        description="乡镇（街道）边界",
        geometry_type="MultiPolygon",
        source=lambda area: q.townships_source(area),
        properties=q.TOWNSHIP_COLUMNS[2:],
        filters={"name": "str"},
        style={"color": "#3f007d", "weight": 2.5, "fill": None},
        max_zoom=22,
        changes=("grids",),
    )


def _villages_layer() -> LayerDef:
    return LayerDef(
        id="villages",
        title="村（社区）",
        description="村（社区）边界",
        geometry_type="MultiPolygon",
        source=lambda area: q.villages_source(area),
        properties=q.VILLAGE_COLUMNS[2:],
        filters={"township": "str", "name": "str"},
        style={"color": "#6a51a3", "weight": 1.5, "fill": None},
        min_zoom=6,
        changes=("grids",),
    )


def _grids_layer() -> LayerDef:
    return LayerDef(
        id="grids",
        title="网格",
        description="现行网格（最小网格单元）及网格员",
        geometry_type="MultiPolygon",
        source=lambda area: q.grids_source(area),
        properties=q.GRID_COLUMNS[2:],
        overview_properties=("code", "township"),
        filters={"township": "str", "code": "str", "worker": "str"},
        style={"color": "#807dba", "weight": 0.8, "fill": "#bcbddc", "fill_opacity": 0.1},
        renderers=frozenset({"geojson", "mvt", "choropleth"}),
        min_zoom=6,
        changes=("grids", "worker_names"),
        personal=("worker",),
    )


def _workers_layer() -> LayerDef:
    return LayerDef(
        id="workers",
        title="网格员",
        description="网格员实时位置与在岗、空闲、待办情况",
        geometry_type="Point",
        source=lambda area: q.workers_source(area),
        properties=q.WORKER_COLUMNS[2:],
        filters={"on_duty": "bool", "available": "bool", "grid_code": "str"},
        datetime_column="located_at",
        style={
            "color": "#2171b5",
            "radius": 6,
            "by": "available",
            "colors": {True: "#2171b5", False: "#969696"},
        },
        changes=("workers",),
        personal=("name",),
    )


def _facilities_layer() -> LayerDef:
    return LayerDef(
        id="facilities",
        title="综治设施",
        description="综治中心、综治站、法庭、派出所、司法所、调解室",
        geometry_type="Point",
        source=lambda area: q.facilities_source(area),
        properties=q.FACILITY_COLUMNS[2:],
        filters={"kind": "str", "grid_code": "str"},
        style={"color": "#252525", "radius": 6, "by": "kind"},
        changes=("facilities",),
    )


def _risk_layer() -> LayerDef:
    return LayerDef(
        id="risk",
        title="网格风险等级",
        description="按未结案件及严重程度、超期件数、重复发生点位和近期趋势评定的红黄绿三色风险等级"
        "（定时评定，as_of 为评定时刻）",
        geometry_type="MultiPolygon",
        source=lambda area: risk_source(area),
        properties=RISK_COLUMNS[2:],
        filters={"grade": "str", "township": "str"},
        style=choropleth_style("grade", vocabulary.GRADE_COLORS, weight=0.6, fill_opacity=0.6),
        renderers=frozenset({"geojson", "mvt", "choropleth"}),
        min_zoom=6,
        changes=("risk", "grids"),  # grades move only when the risk job stores new ones
    )


def register_builtins(registry: LayerRegistry) -> LayerRegistry:
    """Register the built-in layers on `registry` and return it."""
    from layers.analytics_layers import analytics_layers  # the analytics layers register like any other
    from layers.field_layers import field_layers

    registry.register(*builtin_layers(), *analytics_layers(), *field_layers())
    return registry


@lru_cache
def default_registry() -> LayerRegistry:
    """The app-wide registry holding the built-in layers (built once)."""
    return register_builtins(LayerRegistry())
