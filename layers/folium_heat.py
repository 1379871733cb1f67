"""Heatmap pages: a weighted heatmap of one event kind, and a weekly heatmap over a year.

Heat cells come from PostGIS already aggregated and capped (geo.queries.heat), so pages stay small at
any volume. Built with the scaffolding of layers.folium_maps; folium is imported inside the functions.
"""

import html
import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from geo import clock
from geo.queries.event_filter import EventFilter
from geo.queries.heat import fit_heat_cells, fit_weekly_cells
from geo.queries.mapview import cell_for_zoom, fit_zoom, get_area_extent
from layers.folium_data import MapOptions
from layers.folium_maps import KIND_LABELS, STATUS_LABELS, add_legend, area_view, finish_map, latlon, new_map
from layers.folium_page import heat_layer, js_json, render_page, time_heat_layer
from layers.registry import LayerRegistry


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


def build_heat(
    session: Session,
    flt: EventFilter,
    opts: MapOptions,
    zoom: int | None = None,
    bbox: tuple[float, float, float, float] | None = None,
) -> HeatData:
    """Heat cells of the filter at a zoom (fitted to the area unless given), capped in number.

    `bbox` is the area's extent when the caller already has it (it is measured otherwise).
    """
    bbox = bbox or get_area_extent(session, opts.area)
    zoom = zoom if zoom is not None else fit_zoom(bbox)
    fitted = fit_heat_cells(session, opts.area, flt, cell_for_zoom(zoom), opts.heat_max_cells, bbox)
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


def _filter_text(flt: EventFilter) -> str:
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
    flt: EventFilter,
    opts: MapOptions,
    zoom: int | None = None,
    registry: LayerRegistry | None = None,
) -> str:
    """A weighted heatmap page of one event kind (weights are event counts per PostGIS cell), under the
    outlines of the area and its townships."""
    bbox = get_area_extent(session, opts.area)
    heat = build_heat(session, flt, opts, zoom, bbox)
    title = f"{KIND_LABELS[flt.kind]}热力图"
    fmap = new_map(title, bbox, heat.zoom, opts)
    if heat.cells:
        style = {"radius": 14, "blur": 12, "min_opacity": 0.3, "max_zoom": heat.zoom}
        heat_layer(heat.cells_json, name=title, **style).add_to(fmap)
    finish_map(fmap, session, _registry(registry), opts)
    add_legend(fmap, _heat_legend(title, flt, heat, _cell_metres(heat.cell_deg, (bbox[1] + bbox[3]) / 2)))
    return render_page(fmap, opts.vendor_prefix)


def _heat_legend(title: str, flt: EventFilter, heat: HeatData, size: int) -> str:
    """The heatmap's legend: the filter, the events counted, the cell size (metres) and zoom."""
    return (
        f"<b>{title}</b><br>{_filter_text(flt)}<br>共 {heat.total} 件，按约 {size} 米方格聚合为 "
        f"{heat.cells} 个热点（缩放级别 {heat.zoom}）"
    )


def _weeks(first: date, last: date) -> list[date]:
    """Mondays of the weeks from `first` to `last` (China time, like the SQL's date_trunc)."""
    start = first - timedelta(days=first.weekday())
    return [start + timedelta(weeks=i) for i in range((last - start).days // 7 + 1)]


def _week_label(week: date) -> str:
    year, number, _ = week.isocalendar()
    return f"{year}年第{number:02d}周（{week:%m-%d}起）"


def build_weekly(
    session: Session,
    flt: EventFilter,
    opts: MapOptions,
    bbox: tuple[float, float, float, float] | None = None,
) -> tuple[list[str], list[list[Any]], int]:
    """Week labels, per-week [lat, lon, weight 0..1] frames, and the number of events counted.

    `bbox` is the area's extent when the caller already has it (it is measured otherwise).
    """
    last = flt.until or clock.today()
    first = flt.since or last - timedelta(days=364)
    flt = EventFilter(flt.kind, first, last, flt.categories, flt.statuses)
    bbox = bbox or get_area_extent(session, opts.area)
    cell = cell_for_zoom(fit_zoom(bbox), 16)
    rows = fit_weekly_cells(session, opts.area, flt, cell, opts.time_max_points, bbox).rows()
    weeks = _weeks(first, last)
    frames = _week_frames(rows, weeks, opts.basemap_crs)
    return [_week_label(w) for w in weeks], frames, sum(r[3] for r in rows)


def _week_frames(rows: list[Any], weeks: list[date], crs: str) -> list[list[Any]]:
    """Per-week [lat, lon, weight] frames of (week, lon, lat, count) rows, weights relative to the
    biggest count (at least 0.001, so that no cell vanishes)."""
    top = max((r[3] for r in rows), default=1)
    frames: dict[date, list[Any]] = {w: [] for w in weeks}
    points = latlon([(r[1], r[2], r[3]) for r in rows], crs)
    for row, (lat, lon, n) in zip(rows, points, strict=True):
        frames[date.fromisoformat(row[0])].append([lat, lon, round(max(n / top, 0.001), 3)])
    return [frames[w] for w in weeks]


def heatmap_time_html(
    session: Session, flt: EventFilter, opts: MapOptions, registry: LayerRegistry | None = None
) -> str:
    """A weekly HeatMapWithTime page over a year (default: the 52 weeks up to the newest report), under
    the outlines of the area and its townships."""
    bbox, zoom = area_view(session, opts, None)
    labels, frames, total = build_weekly(session, flt, opts, bbox)
    title = f"{KIND_LABELS[flt.kind]}逐周热力图"
    fmap = new_map(title, bbox, zoom, opts)
    _add_weekly_heat(fmap, frames, labels, title)
    finish_map(fmap, session, _registry(registry), opts)
    add_legend(
        fmap,
        f"<b>{title}</b><br>{labels[0]} 至 {labels[-1]}，共 {len(labels)} 周 {total} 件<br>"
        "每周按方格聚合，颜色为当周相对强度",
    )
    return render_page(fmap, opts.vendor_prefix)


def _add_weekly_heat(fmap: Any, frames: list[list[Any]], labels: list[str], title: str) -> None:
    """The weekly frames as one HeatMapWithTime layer, its slider bottom left, paused at the start."""
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
