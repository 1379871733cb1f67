"""Boundary geometry on import: settle the CRS, catch swapped or non-degree coordinates, reproject to WGS84,
and make every feature a valid MultiPolygon (refusing invalid ones, or repairing them when asked).
"""

from pathlib import Path

import geopandas
import numpy as np
import shapely
from shapely.geometry import MultiPolygon

from geo.crs import SourceCrs, parse_crs, shifted_to_wgs84
from geo.errors import InvalidGeometryError, SwappedAxesError, UnknownCrsError
from geo.io.common import ImportReport, Problems


def source_crs(gdf: geopandas.GeoDataFrame, path: Path, crs: str | None) -> SourceCrs:
    """The CRS given (it wins: GCJ-02 files call themselves WGS84), else the file's, else an error."""
    if crs:
        return parse_crs(crs)
    if gdf.crs is None:
        raise UnknownCrsError(
            f"{path.name} does not say its coordinate reference system: give --crs (an EPSG code such as "
            "4490 or 4543, or wgs84, gcj02 or bd09)",
            where="crs",
        )
    return parse_crs(gdf.crs)


def to_wgs84(geoms: np.ndarray, src: SourceCrs, path: Path, rows: list[dict]) -> np.ndarray:
    """Reproject to WGS84 lon/lat, after checking that lon/lat input is not swapped or not degrees at all."""
    geoms = shapely.force_2d(np.asarray(geoms, dtype=object))
    _check_features_present(geoms, rows)
    geographic = src.is_shifted or (src.pyproj is not None and src.pyproj.is_geographic)
    if geographic:
        _check_degrees(geoms, src, path)
    if src.is_shifted:
        out = shifted_to_wgs84(geoms, src.name)
    else:
        out = geopandas.GeoSeries(geoms, crs=src.pyproj).to_crs(4326).values
        out = np.asarray(out, dtype=object)
    if not geographic:
        _check_in_china(out, src, path)
    return out


def _check_features_present(geoms: np.ndarray, rows: list[dict]) -> None:
    problems = Problems("feature")
    for row, geom in zip(rows, geoms, strict=True):
        if geom is None or geom.is_empty:
            problems.add(row["n"], "geometry", f"{row['label']}: geometry is empty", InvalidGeometryError)
        elif geom.geom_type not in ("Polygon", "MultiPolygon", "GeometryCollection"):
            problems.add(
                row["n"],
                "geometry",
                f"{row['label']}: geometry is a {geom.geom_type}; grids need polygons",
                InvalidGeometryError,
            )
    problems.raise_if_any()


def _check_degrees(geoms: np.ndarray, src: SourceCrs, path: Path) -> None:
    """Lon/lat input: refuse swapped axes and numbers that are not degrees."""
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    if 18 <= minx and maxx <= 54 and 73 <= miny and maxy <= 135:
        raise SwappedAxesError(
            f"{path.name}: longitude and latitude appear swapped (x runs {minx:.4f}..{maxx:.4f}, y runs "
            f"{miny:.4f}..{maxy:.4f}; in China x is the longitude, 73..135): write lon/lat (GeoJSON order)",
            where="geometry",
        )
    if not (-180 <= minx and maxx <= 180 and -90 <= miny and maxy <= 90):
        raise UnknownCrsError(
            f"{path.name}: coordinates are not degrees (x {minx:.1f}..{maxx:.1f}, y {miny:.1f}..{maxy:.1f}) "
            f"although the CRS is {src.name}: give the projected CRS with --crs (e.g. EPSG:4543)",
            where="crs",
        )


def _check_in_china(geoms: np.ndarray, src: SourceCrs, path: Path) -> None:
    """Projected input: after reprojection the grids must land in China, or the CRS is wrong."""
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    if not (
        np.isfinite([minx, miny, maxx, maxy]).all()
        and 72 <= minx
        and maxx <= 136
        and 3 <= miny
        and maxy <= 54
    ):
        raise UnknownCrsError(
            f"{path.name}: read as {src.name} the features land outside China "
            f"(lon {minx:.2f}..{maxx:.2f}, lat "
            f"{miny:.2f}..{maxy:.2f}): is {src.name} the right CRS? Give the right one with --crs",
            where="crs",
        )


# --- geometry --------------------------------------------------------------------------------------------


def check_geometries(
    geoms: np.ndarray, rows: list[dict], make_valid: bool, report: ImportReport
) -> np.ndarray:
    """MultiPolygons that PostGIS will accept; invalid ones are refused, or repaired when asked."""
    problems = Problems("feature")
    out = [
        _valid_geometry(row, geom, make_valid, report, problems)
        for row, geom in zip(rows, geoms, strict=True)
    ]
    problems.raise_if_any()
    return np.asarray(out, dtype=object)


def _valid_geometry(
    row: dict, geom, make_valid: bool, report: ImportReport, problems: Problems
) -> MultiPolygon | None:
    """One feature as a valid MultiPolygon: as it is, or repaired (and reported); None, noted, if neither."""
    multi = polygonal(geom)
    if multi is not None and multi.is_valid:
        return multi
    reason = shapely.is_valid_reason(geom) if multi is not None else "it holds no polygon"
    repaired = _repaired(geom) if make_valid else None
    if repaired is None or repaired.is_empty:
        hint = "" if make_valid else " (use make_valid / --make-valid to repair it)"
        problems.add(
            row["n"],
            "geometry",
            f"{row['label']}: invalid geometry: {reason}{hint}",
            InvalidGeometryError,
        )
        return None
    report.repaired.append(f"{row['label']}: {reason}")
    return repaired


def _repaired(geom) -> MultiPolygon | None:
    """shapely's make_valid of the geometry, re-unioned when its polygons still overlap."""
    repaired = polygonal(shapely.make_valid(geom))
    if repaired is not None and not repaired.is_valid:
        repaired = polygonal(shapely.union_all(shapely.get_parts(repaired)))
    return repaired


def polygonal(geom) -> MultiPolygon | None:
    """The polygons of a geometry (collections flattened) as one MultiPolygon, or None if there are none."""
    polys, stack = [], [geom]
    while stack:
        part = stack.pop()
        if part is None or part.is_empty:
            continue
        if part.geom_type == "Polygon":
            polys.append(part)
        elif part.geom_type in ("MultiPolygon", "GeometryCollection"):
            stack.extend(reversed(shapely.get_parts(part).tolist()))
    return MultiPolygon(polys) if polys else None
