"""Exports with geopandas: read_postgis -> to_file, WGS84, times in the county's zone, never parties.

Every layer a page shows can leave as GeoJSON, GeoPackage, CSV or XLSX: the grid levels, cases by kind,
workers, facilities, and the stored analyses (risk grades, hot spots, emerging hot spots; read as last
computed, never recomputed). An `ExportFilter` narrows the rows as the page did: a bbox, the days
reported (cases) and categories (cases).

CSV keeps machine headers (GIS tools read it); XLSX is for people: Chinese headers (geo.vocabulary
FIELDS) and times as text with their offset. `gridgov import events` reads both back.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import geopandas
import pandas as pd
import shapely
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from geo import clock, vocabulary
from geo.analytics.emerging import emerging_source
from geo.analytics.hotspots import hotspots_source
from geo.analytics.risk import risk_source
from geo.errors import InvalidInputError
from geo.models import parse_code
from geo.queries import figures
from geo.queries.area import area_range, in_area

# Exports are whole-table reads with a join or two: plain SQL beside its only caller is clearer than ORM here.
_GRIDS = """
SELECT g.id, g.code, g.name, g.level, p.code AS parent_code, round(g.area_m2) AS area_m2, g.valid_from,
       g.synthetic, g.geom
FROM grids g LEFT JOIN grids p ON p.id = g.parent_id
WHERE g.level = :level AND g.valid_to IS NULL AND {area} AND {filters}
ORDER BY g.code
"""
# Cases without their parties: names, phones and ID numbers never leave through an export. 在办 and
# 超期 are the one definition (geo.queries.figures) at the moment of export.
_EVENTS = f"""
SELECT e.id, e.kind, e.category, c.label_zh AS category_zh, e.severity, e.status,
       gridgov_person_text(e.title, e.id) AS title, gridgov_person_text(e.description, e.id) AS description,
       e.source, e.reported_at, e.closed_at, e.deadline_at, {figures.open_at("e")} AS is_open,
       {figures.overdue_at("e")} AS is_overdue, e.grid_code, e.wage_owed::float8 AS wage_owed,
       e.wage_recovered::float8 AS wage_recovered, e.wage_workers, e.geom
FROM events e JOIN categories c ON c.code = e.category
WHERE e.kind = :kind AND {{area}} AND {{filters}}
ORDER BY e.id
"""
_WORKERS = """
SELECT id, gridgov_person_name(name) AS name, gridgov_person_phone(phone) AS phone, home_grid_code, on_duty,
       available, array_to_string(skills, ',') AS skills,
       open_tasks, capacity, located_at, geom
FROM workers WHERE {area} AND {filters}
ORDER BY id
"""
_FACILITIES = """
SELECT id, kind, name, phone, grid_code, geom FROM facilities
WHERE {area} AND {filters}
ORDER BY id
"""
EXPORT_LAYERS: dict[str, tuple[str, dict]] = {
    "townships": (_GRIDS, {"level": "township"}),
    "villages": (_GRIDS, {"level": "village"}),
    "grids": (_GRIDS, {"level": "grid"}),
    "disputes": (_EVENTS, {"kind": "dispute"}),
    "hazards": (_EVENTS, {"kind": "hazard"}),
    "appeals": (_EVENTS, {"kind": "appeal"}),
    "workers": (_WORKERS, {}),
    "facilities": (_FACILITIES, {}),
}
# The stored analyses, exported from the layers' own sources (geo.analytics).
ANALYSIS_LAYERS = {
    "risk": risk_source,
    "hotspots": lambda area: hotspots_source(area, "grid"),
    "hotspots_hex": lambda area: hotspots_source(area, "hex"),
    "emerging": emerging_source,
}
EVENT_LAYERS = frozenset({"disputes", "hazards", "appeals"})
GRID_LAYERS = frozenset({"townships", "villages", "grids"})
POINT_LAYERS = EVENT_LAYERS | {"workers", "facilities"}
# The grid code each base layer's statement keeps to the area (its alias in EXPORT_LAYERS' SQL).
_AREA_COLUMNS = {
    **dict.fromkeys(GRID_LAYERS, "g.code"),
    **dict.fromkeys(EVENT_LAYERS, "e.grid_code"),
    "workers": "home_grid_code",
    "facilities": "grid_code",
}
EXPORT_FORMATS = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG", ".csv": "CSV", ".xlsx": "XLSX"}


@dataclass(frozen=True)
class ExportFilter:
    """Which rows leave: inside a WGS84 bbox, reported from `since` to `until` (county days, both
    included), of some categories. Dates and categories apply to cases only."""

    bbox: tuple[float, float, float, float] | None = None
    since: date | None = None
    until: date | None = None
    categories: tuple[str, ...] = ()

    def sql(self, layer: str) -> tuple[str, dict[str, Any]]:
        """The WHERE fragment of a base layer (fixed text, bound values) and its parameters."""
        parts, params = ["true"], {}
        if self.bbox:
            column = "e.geom" if layer in EVENT_LAYERS else "g.geom" if layer in GRID_LAYERS else "geom"
            parts.append(f"ST_Intersects({column}, ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326))")
            params |= dict(zip(("minx", "miny", "maxx", "maxy"), self.bbox, strict=True))
        if layer in EVENT_LAYERS:
            if self.since:
                parts.append("e.reported_at >= :since")
                params["since"] = clock.midnight(self.since)
            if self.until:
                parts.append("e.reported_at < :until")
                params["until"] = clock.midnight(self.until + timedelta(days=1))
            if self.categories:
                parts.append("e.category = ANY(CAST(:categories AS text[]))")
                params["categories"] = list(self.categories)
        return " AND ".join(parts), params


def check_layer(layer: str) -> None:
    """InvalidInputError naming the layers that can be exported."""
    if layer not in EXPORT_LAYERS and layer not in ANALYSIS_LAYERS:
        known = ", ".join([*EXPORT_LAYERS, *ANALYSIS_LAYERS])
        raise InvalidInputError(f"未知图层 {layer!r}；可导出：{known}", where="layer")


def export_layer(
    session: Session,
    layer: str,
    path: str | Path,
    *,
    area: str | None = None,
    flt: ExportFilter | None = None,
) -> int:
    """Write a layer (current rows, WGS84) to .geojson/.json, .gpkg, .csv or .xlsx; return the row count.

    Args:
        area: a grid-code prefix (dashes allowed, e.g. 620121-003) restricting the rows exported.
        flt: bbox, days and categories, as the page showing the layer had them.
    """
    check_layer(layer)
    path = Path(path)
    driver = _file_driver(path)
    gdf = _local_times(_read(session, layer, _area_prefix(area), flt or ExportFilter()))
    _write_file(gdf, path, driver, layer)
    return len(gdf)


def _file_driver(path: Path) -> str:
    """The driver (GeoJSON, GPKG, CSV, XLSX) the file name asks for, or InvalidInputError."""
    driver = EXPORT_FORMATS.get(path.suffix.lower())
    if driver is None:
        raise InvalidInputError(
            f"cannot export to {path.name!r}: the file name must end in {', '.join(EXPORT_FORMATS)}",
            where="file",
        )
    return driver


def _area_prefix(area: str | None) -> str:
    """The grid-code prefix of `area` as digits ('' for all), or InvalidInputError."""
    prefix = parse_code(area or "")
    if not prefix.isdigit() and prefix:
        raise InvalidInputError(
            f"area must be a grid-code prefix of digits (e.g. 620121-003); got {area!r}", where="area"
        )
    return prefix


def _read(session: Session, layer: str, prefix: str, flt: ExportFilter) -> geopandas.GeoDataFrame:
    """The layer's rows as a GeoDataFrame (EPSG:4326)."""
    con = session.connection()
    if layer in ANALYSIS_LAYERS:
        source = ANALYSIS_LAYERS[layer](prefix or "").subquery("s")
        query = select(
            *(c for c in source.c if c.name != "geom"), func.ST_AsBinary(source.c.geom).label("geom")
        )
        if flt.bbox:
            query = query.where(func.ST_Intersects(source.c.geom, func.ST_MakeEnvelope(*flt.bbox, 4326)))
        return geopandas.read_postgis(query.order_by(source.c.id), con, geom_col="geom", crs=4326)
    sql, params = EXPORT_LAYERS[layer]
    where, values = flt.sql(layer)
    area, bounds = _in_area(layer, prefix)
    query = {**params, **values, **bounds, "at": clock.now()}
    return geopandas.read_postgis(
        text(sql.format(filters=where, area=area)), con, geom_col="geom", params=query, crs=4326
    )


def _in_area(layer: str, prefix: str) -> tuple[str, dict[str, str]]:
    """The condition keeping a base layer's rows to the area (a code range, geo.queries.area: LIKE is
    no index condition under row-level security) and its bounds; every row when the prefix is ''."""
    if not prefix:
        return "true", {}
    return in_area(_AREA_COLUMNS[layer]), area_range(prefix)


def _local_times(gdf: geopandas.GeoDataFrame) -> geopandas.GeoDataFrame:
    """Times in the county's zone, with their offset (2026-11-27 09:30:00+08:00): never bare UTC."""
    for name in gdf.columns:
        if isinstance(gdf[name].dtype, pd.DatetimeTZDtype):
            gdf[name] = gdf[name].dt.tz_convert(clock.zone().key)
    return gdf


def _write_file(gdf: geopandas.GeoDataFrame, path: Path, driver: str, layer: str) -> None:
    """The rows as a table (CSV, XLSX) or as a spatial file (GeoJSON, GeoPackage)."""
    if driver in ("CSV", "XLSX"):
        _write_table(gdf, path, driver)
    else:
        _write_spatial(gdf, path, driver, layer)


def _write_spatial(gdf: geopandas.GeoDataFrame, path: Path, driver: str, layer: str) -> None:
    """GeoJSON or GeoPackage through pyogrio (an existing file is replaced)."""
    if path.exists():
        path.unlink()
    kind = "Point" if layer in POINT_LAYERS else "MultiPolygon"
    gdf.to_file(
        path, driver=driver, engine="pyogrio", layer=layer if driver == "GPKG" else None, geometry_type=kind
    )


def _write_table(gdf: geopandas.GeoDataFrame, path: Path, driver: str) -> None:
    """CSV (UTF-8 with a BOM for Excel, machine headers) or XLSX (Chinese headers), with lon/lat columns
    (WGS84; a point inside each polygon for areas). Times keep their offset, to the second."""
    points = shapely.point_on_surface(gdf.geometry.values)
    frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    frame["lon"] = shapely.get_x(points)
    frame["lat"] = shapely.get_y(points)
    for name in frame.columns:
        if isinstance(frame[name].dtype, pd.DatetimeTZDtype):
            frame[name] = frame[name].map(
                lambda t: None if pd.isna(t) else t.isoformat(sep=" ", timespec="seconds")
            )
    if driver == "CSV":
        frame.to_csv(path, index=False, encoding="utf-8-sig")
        return
    from geo.io.workbook import Sheet, write_workbook

    columns = [(name, vocabulary.label("field", name)) for name in frame.columns]
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    write_workbook(path, [Sheet(path.stem[:31] or "export", columns, rows)])


def _day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInputError(f"{name} 须为日期 YYYY-MM-DD；收到 {value!r}", where=name) from None


def _bbox(value: str | None) -> tuple[float, float, float, float] | None:
    if not value:
        return None
    parts = value.split(",")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        numbers = []
    if len(numbers) != 4 or not all(abs(n) <= 180 for n in numbers) or not numbers[0] < numbers[2]:
        raise InvalidInputError(
            f"bbox 须为 4 个数 minx,miny,maxx,maxy（WGS84 经纬度，minx < maxx，miny < maxy）；收到 {value!r}",
            where="bbox",
        )
    if not numbers[1] < numbers[3] or not all(abs(n) <= 90 for n in numbers[1::2]):
        raise InvalidInputError(f"bbox 的纬度须在 -90..90 且 miny < maxy；收到 {value!r}", where="bbox")
    return numbers[0], numbers[1], numbers[2], numbers[3]


def parse_filter(
    bbox: str | None = None, since: str | None = None, until: str | None = None, category: str | None = None
) -> ExportFilter:
    """An ExportFilter from text (query parameters or command-line options); InvalidInputError naming
    the bad one. `category` is one code or several, comma-separated."""
    first, last = _day(since, "from"), _day(until, "to")
    if first and last and first > last:
        raise InvalidInputError(f"开始日期 {first} 晚于结束日期 {last}", where="from")
    cats = tuple(c.strip() for c in (category or "").split(",") if c.strip())
    if bad := [c for c in cats if not c.replace("_", "").isalpha() or not c.isascii()]:
        raise InvalidInputError(f"类别编码只含小写字母和下划线；收到 {bad[0]!r}", where="category")
    return ExportFilter(_bbox(bbox), first, last, cats)
