"""Import grid boundaries (county, townships, villages, small grids): GeoJSON, GeoPackage, Shapefile, KML.

read_file -> map columns -> check codes, names and parents (grid_rows.py; their text: geo.io.text, with
the NULs GDAL cuts text at read back from the file, geo.io.nul) -> settle the CRS -> reproject to WGS84
-> check geometries (repair on request) -> check nesting within the file -> write in bulk
(grid_writes.py) -> check nesting against the database. Everything that can be checked is checked
before the first write; the final nesting check runs inside the caller's transaction, which the caller
rolls back when it raises.
"""

import warnings
from pathlib import Path

import geopandas
import pyogrio
import pyogrio.errors
from sqlalchemy.orm import Session

from geo.errors import InvalidInputError
from geo.io.common import ImportReport, require_file
from geo.io.grid_rows import IMPORT_LEVELS, check_attributes, check_nesting_in_file, find_parents
from geo.io.grid_writes import write_grids
from geo.io.nul import read_cut_text
from geo.io.shapes import check_geometries, source_crs, to_wgs84
from geo.jobs import queue
from geo.queries.grids import check_nesting
from geo.settings import NESTING_TOLERANCE_M2


def import_grids(
    session: Session,
    path: str | Path,
    *,
    level: str,
    crs: str | None = None,
    layer: str | None = None,
    encoding: str | None = None,
    make_valid: bool = False,
    tolerance_m2: float = NESTING_TOLERANCE_M2,
) -> ImportReport:
    """Validate a boundary file as a whole, then write it as new current versions of its grids.

    Args:
        level: county, township, village or grid: what every feature of the file is.
        crs: the file's CRS when it says none, or when it lies (GCJ-02 data labelled WGS84).
        layer: the layer to read (GeoPackage, KML).
        encoding: text encoding of a shapefile's .dbf (default: its .cpg, else UTF-8 if it decodes, else GBK).
        make_valid: repair invalid polygons (and list them in the report) instead of refusing them.
    """
    if level not in IMPORT_LEVELS:
        raise InvalidInputError(
            f"level must be one of {', '.join(IMPORT_LEVELS)}; got {level!r}", where="level"
        )
    path = require_file(path)
    gdf = _read(path, layer, encoding)
    report = ImportReport(what=f"{level} grids", source=path.name)
    _note_other_layers(path, layer, report)
    if gdf.empty:
        raise InvalidInputError(f"{path.name} holds no features", where="file")
    cut = read_cut_text(path, layer, encoding or _shapefile_encoding(path))  # what GDAL cut at a NUL
    rows = check_attributes(gdf, level, report, cut)
    src = source_crs(gdf, path, crs)
    report.crs = src.name
    geoms = to_wgs84(gdf.geometry.values, src, path, rows)
    geoms = check_geometries(geoms, rows, make_valid, report)
    parents = find_parents(session, rows, level)
    check_nesting_in_file(rows, geoms, parents, level, tolerance_m2)
    new_ids = write_grids(session, rows, geoms, parents, level, report)
    check_nesting(session, new_ids, tolerance_m2=tolerance_m2)
    queue.enqueue_refresh_for_codes(session, [r["code"] for r in rows])
    return report


# --- reading ---------------------------------------------------------------------------------------------


def _read(path: Path, layer: str | None, encoding: str | None) -> geopandas.GeoDataFrame:
    """Read the file with pyogrio, choosing the text encoding of shapefiles ourselves."""
    enc = encoding or _shapefile_encoding(path)
    try:
        return _read_file(path, layer, enc)
    except (UnicodeDecodeError, LookupError) as exc:
        raise InvalidInputError(
            f"cannot decode the text of {path.name} as {enc or 'UTF-8'}: give the right encoding "
            "(e.g. GBK or UTF-8)",
            where="encoding",
        ) from exc
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError) as exc:
        raise InvalidInputError(
            f"cannot read {path.name} as GeoJSON, GeoPackage, Shapefile or KML: {exc}", where="file"
        ) from exc


def _read_file(path: Path, layer: str | None, enc: str | None) -> geopandas.GeoDataFrame:
    """geopandas.read_file through pyogrio, of the layer and in the encoding given (if any)."""
    kwargs: dict = {"engine": "pyogrio"}
    if layer:
        kwargs["layer"] = layer
    if enc:
        kwargs["encoding"] = enc
    with warnings.catch_warnings():  # we warn about other layers ourselves, in the report
        warnings.filterwarnings("ignore", message="More than one layer found")
        return geopandas.read_file(path, **kwargs)


def _note_other_layers(path: Path, layer: str | None, report: ImportReport) -> None:
    """Warn when a GeoPackage or KML holds more layers than the one read."""
    layers = [str(name) for name, _ in pyogrio.list_layers(path)]
    if not layer and len(layers) > 1:
        report.warnings.append(
            f"read layer {layers[0]!r} only; the file also holds {', '.join(map(repr, layers[1:]))} "
            "(choose one with --layer)"
        )


def _shapefile_encoding(path: Path) -> str | None:
    """Encoding of a shapefile's .dbf: None when a .cpg says it, else UTF-8 if the text decodes, else GBK."""
    if path.suffix.lower() != ".shp" or any(path.with_suffix(s).exists() for s in (".cpg", ".CPG")):
        return None
    dbf = next((p for p in (path.with_suffix(".dbf"), path.with_suffix(".DBF")) if p.exists()), None)
    if dbf is None:
        return None
    data = dbf.read_bytes()
    header = int.from_bytes(data[8:10], "little") if len(data) >= 10 else 0
    try:
        data[header:].decode("utf-8")
    except UnicodeDecodeError:
        return "GB18030"  # a superset of GBK (and GB2312), which is what Chinese shapefiles use
    return "UTF-8"
