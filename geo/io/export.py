"""Exports with geopandas: read_postgis -> to_file, WGS84, times in the county's zone, never parties."""

from pathlib import Path

import geopandas
import pandas as pd
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import clock
from geo.errors import InvalidInputError
from geo.models import parse_code
from geo.queries import figures

# Exports are whole-table reads with a join or two: plain SQL beside its only caller is clearer than ORM here.
_GRIDS = """
SELECT g.id, g.code, g.name, g.level, p.code AS parent_code, round(g.area_m2) AS area_m2, g.valid_from,
       g.synthetic, g.geom
FROM grids g LEFT JOIN grids p ON p.id = g.parent_id
WHERE g.level = :level AND g.valid_to IS NULL AND g.code LIKE :prefix
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
WHERE e.kind = :kind AND coalesce(e.grid_code, '') LIKE :prefix
ORDER BY e.id
"""
_WORKERS = """
SELECT id, gridgov_person_name(name) AS name, gridgov_person_phone(phone) AS phone, home_grid_code, on_duty,
       available, array_to_string(skills, ',') AS skills,
       open_tasks, capacity, located_at, geom
FROM workers WHERE coalesce(home_grid_code, '') LIKE :prefix
ORDER BY id
"""
_FACILITIES = """
SELECT id, kind, name, phone, grid_code, geom FROM facilities WHERE coalesce(grid_code, '') LIKE :prefix
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
EXPORT_FORMATS = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG", ".csv": "CSV"}


def export_layer(session: Session, layer: str, path: str | Path, *, area: str | None = None) -> int:
    """Write a layer (current rows, WGS84) to .geojson/.json, .gpkg or .csv; return the feature count.

    Args:
        area: a grid-code prefix (dashes allowed, e.g. 620121-003) restricting the rows exported.
    """
    if layer not in EXPORT_LAYERS:
        raise InvalidInputError(
            f"unknown layer {layer!r}; known layers: {', '.join(EXPORT_LAYERS)}", where="layer"
        )
    path = Path(path)
    driver = EXPORT_FORMATS.get(path.suffix.lower())
    if driver is None:
        raise InvalidInputError(
            f"cannot export to {path.name!r}: the file name must end in {', '.join(EXPORT_FORMATS)}",
            where="file",
        )
    prefix = parse_code(area or "")
    if not prefix.isdigit() and prefix:
        raise InvalidInputError(
            f"area must be a grid-code prefix of digits (e.g. 620121-003); got {area!r}", where="area"
        )
    sql, params = EXPORT_LAYERS[layer]
    query = {**params, "prefix": prefix + "%", "at": clock.now()}
    gdf = _local_times(
        geopandas.read_postgis(text(sql), session.connection(), geom_col="geom", params=query, crs=4326)
    )
    if driver == "CSV":
        _write_csv(gdf, path)
    else:
        _write_spatial(gdf, path, driver, layer)
    return len(gdf)


def _local_times(gdf: geopandas.GeoDataFrame) -> geopandas.GeoDataFrame:
    """Times in the county's zone, with their offset (2026-11-27 09:30:00+08:00): never bare UTC."""
    for name in gdf.columns:
        if isinstance(gdf[name].dtype, pd.DatetimeTZDtype):
            gdf[name] = gdf[name].dt.tz_convert(clock.zone().key)
    return gdf


def _write_spatial(gdf: geopandas.GeoDataFrame, path: Path, driver: str, layer: str) -> None:
    """GeoJSON or GeoPackage through pyogrio (an existing file is replaced)."""
    if path.exists():
        path.unlink()
    kind = "Point" if layer in ("disputes", "hazards", "appeals", "workers", "facilities") else "MultiPolygon"
    gdf.to_file(
        path, driver=driver, engine="pyogrio", layer=layer if driver == "GPKG" else None, geometry_type=kind
    )


def _write_csv(gdf: geopandas.GeoDataFrame, path: Path) -> None:
    """CSV with lon/lat columns (WGS84; a point inside each polygon for grids), UTF-8 with a BOM for Excel."""
    geoms = gdf.geometry.values
    points = shapely.point_on_surface(geoms)
    frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    frame["lon"] = shapely.get_x(points)
    frame["lat"] = shapely.get_y(points)
    frame.to_csv(path, index=False, encoding="utf-8-sig")
