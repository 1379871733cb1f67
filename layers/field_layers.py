"""Field-work map layers: patrol tracks, household visits and the coverage of small grids.

Served like every layer (OGC API Features, vector tiles, Folium maps), filterable by date (`datetime`)
and by worker (`worker_id`), within the requester's area; worker and household names are masked for
uncleared roles by the database. Coverage is a window layer: its `datetime` is the period it
summarises (default: the county's today).
"""

from geo import clock, vocabulary
from geo.queries.coverage import COVERAGE_COLUMNS, coverage_source
from geo.queries.field_layers import TRACK_COLUMNS, VISIT_COLUMNS, tracks_source, visits_source
from layers.model import LayerDef, choropleth_style


def field_layers() -> list[LayerDef]:
    """The field-work layers (fresh objects)."""
    return [_tracks_layer(), _visits_layer(), _coverage_layer()]


def _tracks_layer() -> LayerDef:
    return LayerDef(
        id="tracks",
        title="巡查轨迹",
        description="网格员每日巡查轨迹（按时间连接定位点，长时间中断处分段，剔除精度差的定位），含里程与时长",
        geometry_type="MultiLineString",
        source=lambda area: tracks_source(area),
        properties=TRACK_COLUMNS[2:],
        filters={"worker_id": "int", "day": "str", "grid_code": "str", "township": "str"},
        datetime_column="started_at",
        style={"color": "#6a3d9a", "weight": 3},
        min_zoom=6,
        changes=("tracks", "worker_names"),
        personal=("worker",),
    )


def _visits_layer() -> LayerDef:
    return LayerDef(
        id="visits",
        title="入户走访",
        description="网格员入户走访记录（地址、户主（脱敏）、是否有照片），不含走访详情",
        geometry_type="Point",
        source=lambda area: visits_source(area, clock.zone().key),
        properties=VISIT_COLUMNS[2:],
        filters={"worker_id": "int", "day": "str", "grid_code": "str", "township": "str"},
        datetime_column="at",
        style={"color": "#1f78b4", "radius": 5},
        changes=("visits", "worker_names"),
        personal=("worker", "household"),
    )


def _coverage_layer() -> LayerDef:
    return LayerDef(
        id="coverage",
        title="走访覆盖",
        description="各网格在所选时段（datetime，默认今日）内是否有走访或巡查轨迹经过：已走访、仅巡查、未覆盖",
        geometry_type="MultiPolygon",
        source=lambda area, start, end: coverage_source(area, start, end),
        properties=COVERAGE_COLUMNS[2:],
        filters={"status": "str", "covered": "bool", "worker_id": "int", "township": "str", "code": "str"},
        style=choropleth_style("status", vocabulary.COVERAGE_COLORS, weight=0.5, fill_opacity=0.6),
        renderers=frozenset({"geojson", "mvt", "choropleth"}),
        min_zoom=6,
        window=True,
        changes=("tracks", "visits", "grids", "worker_names"),
        personal=("worker",),
    )
