"""What requests read of the stored analyses: a run and when it was computed, sums per county or
township, pages of cells in a bbox, and the job that is refreshing it. Nothing here computes.

Wide areas (a province or a city account: 2 or 4 digits) are answered per county by default, a county's
or township's per cell; `level` asks for another breakdown and `bbox`, `limit` and `offset` page the
cells, so no answer grows with the province (GRID_ANALYTICS_*: at most MAX_PAGE cells or groups).
"""

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.analytics.hotspots import CLASS_LABELS
from geo.errors import InvalidInputError
from geo.jobs import queue
from geo.queries.area import area_range, in_area
from geo.queries.layers import display_code, township_of

LEVELS = {"county": 6, "township": 9, "grid": 15}
MAX_PAGE = 5000  # ~350 bytes a cell: 1.75 MB at most
BBox = tuple[float, float, float, float] | None


def default_level(area: str) -> str:
    """Province and city accounts see counties first; everyone else the cells."""
    return "county" if len(area) <= 4 else "grid"


def check_level(area: str, level: str | None) -> str:
    """The level asked for, or the area's default; a level above the area is refused."""
    level = level or default_level(area)
    if level not in LEVELS:
        raise InvalidInputError(f"level 须为 {', '.join(LEVELS)} 之一；收到 {level!r}", where="level")
    if LEVELS[level] < len(area):
        raise InvalidInputError(f"level {level} 大于所辖区域 {area}", where="level")
    return level


def _bbox(bbox: BBox) -> dict[str, float | None]:
    minx, miny, maxx, maxy = bbox or (None, None, None, None)
    return {"minx": minx, "miny": miny, "maxx": maxx, "maxy": maxy}


# A small grid's cell has its grid's polygon (joined as g when a bbox is asked), a hexagon its own.
_IN_BBOX = (
    "(CAST(:minx AS float8) IS NULL OR coalesce(c.geom, "
    "(SELECT g.geom FROM grids g WHERE g.code = c.grid_code AND g.level = 'grid' AND g.valid_to IS NULL))"
    " && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326))"
)

_RUN = text("""
SELECT id, computed_at FROM analytics_runs WHERE analysis = :analysis AND unit = :unit AND area = :area
ORDER BY computed_at DESC, id DESC LIMIT 1
""")


def latest_run(session: Session, analysis: str, unit: str, area: str) -> tuple[int, datetime] | None:
    """(id, computed_at) of the newest stored run of exactly this area, if any."""
    row = session.execute(_RUN, {"analysis": analysis, "unit": unit, "area": area}).first()
    return (int(row.id), row.computed_at) if row else None


def job_status(session: Session, area: str, kinds: tuple[str, ...]) -> dict[str, Any] | None:
    """The waiting or running job that will refresh this answer, with its progress (None when none)."""
    return queue.open_for(session, area, kinds)


# A unit's name is looked up once per unit after counting (a scalar subquery, one probe of
# grids_current_code): a join before grouping hashed every current grid of the province (50 ms).
_UNIT_NAME = "(SELECT u.name FROM grids u WHERE u.code = rpad(s.code, 15, '0') AND u.valid_to IS NULL)"

_HOT_UNITS = text(f"""
SELECT s.code, {_UNIT_NAME} AS name, s.confidence, s.cells, s.events
FROM (SELECT left(c.region, :n) AS code, c.confidence, count(*) AS cells, sum(c.events) AS events
      FROM hotspot_cells c WHERE c.run_id = :run AND {_IN_BBOX} GROUP BY 1, 2) s
ORDER BY 1, 3 DESC
""")

_HOT_CELLS = text(f"""
SELECT c.cell, {display_code("c.grid_code")} AS grid_code,
       {township_of("tw.name", "c.grid_code")} AS township, c.events,
       round(c.base_km2::numeric, 4)::float8 AS base_km2, round(c.rate::numeric, 4)::float8 AS rate,
       round(c.eb_rate::numeric, 4)::float8 AS eb_rate, round(c.z::numeric, 3)::float8 AS z,
       round(c.p::numeric, 4)::float8 AS p, c.confidence::int AS confidence
FROM hotspot_cells c
WHERE c.run_id = :run AND {_IN_BBOX}
ORDER BY c.z DESC, c.cell LIMIT :limit OFFSET :offset
""")

_HOT_COUNTS = text(f"""
SELECT c.confidence, count(*) FROM hotspot_cells c WHERE c.run_id = :run AND {_IN_BBOX} GROUP BY 1
""")


def _label(confidence: int) -> str:
    return CLASS_LABELS[int(confidence)]


def _hot_class(confidence: int) -> str:
    return "hot" if confidence > 0 else "cold" if confidence < 0 else "none"


def hotspots_answer(
    session: Session, area: str, unit: str, *, level: str | None, bbox: BBox, limit: int, offset: int
) -> dict[str, Any]:
    """The area's stored Gi* run: counts per class, and the cells (a page) or sums per county/township."""
    level = check_level(area, level)
    run = latest_run(session, "hotspots", unit, area)
    out: dict[str, Any] = {"area": area, "unit": unit, "level": level, "computed_at": run[1] if run else None}
    out["refreshing"] = job_status(session, area, ("hotspots", "refresh"))
    if run is None:
        return {**out, "counts": {}, "total": 0, "cells": [], "units": []}
    p = {"run": run[0], **_bbox(bbox)}
    counts = {int(k): int(n) for k, n in session.execute(_HOT_COUNTS, p)}
    out["counts"] = {_label(k): n for k, n in sorted(counts.items(), reverse=True)}
    out["total"] = sum(counts.values())
    if level == "grid":
        return {**out, **_hot_cells(session, p, limit, offset, out["total"])}
    return {**out, "units": _hot_units(session, p, level)}


def _hot_cells(session: Session, p: dict[str, Any], limit: int, offset: int, total: int) -> dict[str, Any]:
    """A page of the run's cells, hottest first, and the offset of the next page (None after the last)."""
    rows = session.execute(_HOT_CELLS, {**p, "limit": limit, "offset": offset}).mappings()
    cells = [
        {**r, "class": _hot_class(r["confidence"]), "class_label": _label(r["confidence"])} for r in rows
    ]
    more = offset + len(cells) < total
    return {"cells": cells, "next_offset": offset + len(cells) if more else None}


def _hot_units(session: Session, p: dict[str, Any], level: str) -> list[dict[str, Any]]:
    """The run's cells per county or township of `level`: all, hot, cold, and per class."""
    units: dict[str, dict[str, Any]] = {}
    for r in session.execute(_HOT_UNITS, {**p, "n": LEVELS[level]}):
        u = units.setdefault(
            r.code, {"code": r.code, "name": r.name, "cells": 0, "hot": 0, "cold": 0, "counts": {}}
        )
        u["cells"] += r.cells
        u[_hot_class(r.confidence)] = u.get(_hot_class(r.confidence), 0) + r.cells
        u["counts"][_label(r.confidence)] = r.cells
    return [{k: v for k, v in u.items() if k != "none"} for u in units.values()]


_RISK_UNITS = text(f"""
SELECT s.code, {_UNIT_NAME} AS name, s.grade, s.grids, s.open_events, s.overdue, s.as_of
FROM (SELECT left(r.grid_code, :n) AS code, r.grade, count(*) AS grids, sum(r.open_events) AS open_events,
             sum(r.overdue) AS overdue, max(r.as_of) AS as_of
      FROM risk_grades r WHERE {in_area("r.grid_code")} GROUP BY 1, 2) s
ORDER BY 1
""")


_RISK_AS_OF = text(f"SELECT max(as_of), max(computed_at) FROM risk_grades WHERE {in_area('grid_code')}")


def risk_units(session: Session, area: str, level: str) -> dict[str, Any]:
    """Red, yellow and green small grids per county or township of the area (the stored grades)."""
    units: dict[str, dict[str, Any]] = {}
    for r in session.execute(_RISK_UNITS, {**area_range(area), "n": LEVELS[level]}):
        u = units.setdefault(r.code, {"code": r.code, "name": r.name, "red": 0, "yellow": 0, "green": 0})
        u[r.grade] = r.grids
        u["open_events"] = u.get("open_events", 0) + r.open_events
        u["overdue"] = u.get("overdue", 0) + r.overdue
    as_of = session.execute(_RISK_AS_OF, area_range(area)).one()
    return {
        "area": area,
        "level": level,
        "as_of": as_of[0],
        "computed_at": as_of[1],
        "units": list(units.values()),
    }


# Per county (or township) of a wide area, what the maps colour it by; geometry simplified and the
# FeatureCollection written by PostGIS, as layers.folium_data does for its layers.
_UNIT_SUMS = {
    "hotspots": """SELECT left(c.region, :n) AS code, count(*) AS cells,
        count(*) FILTER (WHERE c.confidence > 0) AS flagged, count(*) FILTER (WHERE c.confidence < 0) AS other
        FROM hotspot_cells c WHERE c.run_id = :run GROUP BY 1""",
    "emerging": """SELECT left(c.grid_code, :n) AS code, count(*) AS cells,
        count(*) FILTER (WHERE c.category LIKE '%\\_hot') AS flagged,
        count(*) FILTER (WHERE c.category LIKE '%\\_cold') AS other
        FROM emerging_cells c WHERE c.run_id = :run GROUP BY 1""",
    "risk": """SELECT left(r.grid_code, :n) AS code, count(*) AS cells,
        count(*) FILTER (WHERE r.grade = 'red') AS flagged,
        count(*) FILTER (WHERE r.grade = 'yellow') AS other
        FROM risk_grades r WHERE r.grid_code ~>=~ :lo AND r.grid_code ~<~ :hi GROUP BY 1""",
}
_UNIT_SHAPES = """
SELECT coalesce(json_agg(json_build_object(
    'type', 'Feature', 'id', u.id,
    'geometry', ST_AsGeoJSON(ST_SimplifyPreserveTopology(u.geom, :tolerance), 4)::json,
    'properties', json_build_object(
        'code', s.code, 'name', u.name, 'cells', s.cells, 'flagged', s.flagged, 'other', s.other,
        'share', round(s.flagged::numeric / nullif(s.cells, 0), 3))
) ORDER BY s.code), '[]')::text,
       coalesce(sum(s.cells), 0), coalesce(sum(s.flagged), 0), coalesce(sum(s.other), 0)
FROM ({sums}) s JOIN grids u ON u.code = rpad(s.code, 15, '0') AND u.valid_to IS NULL
"""


def unit_shapes(
    session: Session,
    area: str,
    analysis: str,
    *,
    unit: str = "grid",
    level: str = "county",
    tolerance: float = 0.002,
) -> dict[str, Any]:
    """The counties (or townships) of a wide area with their share of hot cells (hotspots), of
    emerging hot spots (emerging) or of red grids (risk): a GeoJSON text, totals and as of when."""
    params: dict[str, Any] = {**area_range(area), "n": LEVELS[level], "tolerance": tolerance}
    stored = _find_stored(session, analysis, unit, area, params)
    if stored is None:  # nothing computed yet: no features
        return _shapes(("[]", 0, 0, 0), None)
    row = session.execute(text(_UNIT_SHAPES.format(sums=_UNIT_SUMS[analysis])), stored[0]).one()
    return _shapes(row, stored[1])


def _find_stored(
    session: Session, analysis: str, unit: str, area: str, params: dict[str, Any]
) -> tuple[dict[str, Any], datetime | None] | None:
    """The parameters with the newest run of the analysis, and when it was computed (risk: the stored
    grades, and when they were); None when the analysis has no run of the area."""
    if analysis == "risk":
        return params, session.execute(_RISK_AS_OF, params).one()[1]
    run = latest_run(session, analysis, unit, area)
    if run is None:
        return None
    return {**params, "run": run[0]}, run[1]


def _shapes(row: Any, computed_at: datetime | None) -> dict[str, Any]:
    """The answer of unit_shapes from its query's row (the features' JSON array and the totals)."""
    return {
        "json": '{"type":"FeatureCollection","features":' + row[0] + "}",
        "cells": int(row[1]),
        "flagged": int(row[2]),
        "other": int(row[3]),
        "computed_at": computed_at,
    }
