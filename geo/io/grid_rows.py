"""The attributes of a boundary file, checked row by row before anything is written: codes, names and
levels (with every cell's text, geo.io.text), each code's parent in the database, and the nesting of the
file's features within their parents and among themselves.
"""

import math

import geopandas
import numpy as np
import shapely
from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import Text

from geo.errors import InvalidInputError, NestingError
from geo.io.common import ImportReport, Problems, normalise_columns
from geo.io.nul import CutText
from geo.io.text import column_note, unstorable_reason
from geo.models import format_code, parse_code

IMPORT_LEVELS = ("county", "township", "village", "grid")
# Which 3-digit segment of the code a level owns; the segments after it must be zero.
_SEGMENT = {"county": None, "township": slice(6, 9), "village": slice(9, 12), "grid": slice(12, 15)}
_ZERO_FROM = {"county": 6, "township": 9, "village": 12, "grid": 15}
_PARENT_LEVEL = {"county": "city", "township": "county", "village": "township", "grid": "village"}

_ALIASES = {
    "code": "code",
    "grid_code": "code",
    "编码": "code",
    "代码": "code",
    "网格编码": "code",
    "网格代码": "code",
    "区划代码": "code",
    "name": "name",
    "名称": "name",
    "网格名称": "name",
    "名字": "name",
    "level": "level",
    "层级": "level",
    "geometry": "geometry",
}
# Columns that GDAL's KML/LIBKML drivers, GeoPackages and our own exports add: no warning for these.
_DRIVER_COLUMNS = {
    "id",
    "fid",
    "description",
    "timestamp",
    "begin",
    "end",
    "altitudemode",
    "tessellate",
    "extrude",
    "visibility",
    "draworder",
    "icon",
    "snippet",
    "parent_code",
    "area_m2",
    "valid_from",
    "synthetic",  # what export_layer writes: re-importing it is quiet
}
_M2_PER_DEG2 = 111_320.0**2  # times cos(latitude): square metres in a square degree, near enough for checks


# --- attributes ------------------------------------------------------------------------------------------


def check_attributes(
    gdf: geopandas.GeoDataFrame, level: str, report: ImportReport, cut: CutText
) -> list[dict]:
    """Codes, names and levels of every feature, or one error listing what is wrong.

    `cut` holds the values GDAL cut short at a NUL, as the file has them: those are checked instead.
    """
    found = _find_columns(gdf, report)
    problems = Problems("feature")
    rows, seen = [], {}
    columns = {f: found[f] for f in ("code", "name", "level") if f in found}
    records = gdf[list(columns.values())].to_dict("records")
    for i, record in enumerate(records, start=1):
        values = {f: cut.get((i, col), record[col]) for f, col in columns.items()}
        if _has_unstorable_text(i, values, columns, problems):
            continue
        rows.append(_check_row(i, values["code"], values["name"], values.get("level"), level, problems, seen))
    problems.raise_if_any()
    return rows


def _find_columns(gdf: geopandas.GeoDataFrame, report: ImportReport) -> dict[str, str]:
    """Our field -> the file's column; unknown columns are a warning, a missing code or name an error."""
    mapping = normalise_columns([c for c in gdf.columns if c != gdf.geometry.name], _ALIASES)
    for col, field_name in mapping.items():
        if not field_name and str(col).strip().lower() not in _DRIVER_COLUMNS:
            report.warnings.append(f"ignored unknown column {col!r}")
    found = {f: c for c, f in mapping.items() if f}
    missing = [f for f in ("code", "name") if f not in found]
    if missing:
        raise InvalidInputError(
            f"missing required column(s) {', '.join(missing)}: every feature needs a 15-digit code "
            "(e.g. 620121-003-017-008) and a name; found columns " + ", ".join(map(str, mapping)),
            where=missing[0],
        )
    return found


def _has_unstorable_text(i: int, values: dict, columns: dict, problems: Problems) -> bool:
    """Note every code, name or level text we cannot store (geo.io.text); True if there was one."""
    found = False
    for field_name, value in values.items():
        if isinstance(value, str) and (reason := unstorable_reason(value)):
            note = column_note(field_name, columns[field_name])
            problems.add(i, field_name, f"feature {i}: {field_name} {note}{reason}")
            found = True
    return found


def _check_row(i, code_value, name_value, level_value, level, problems, seen) -> dict:
    """One feature's code, name and level."""
    code = _code_text(code_value)
    name = "" if _blank(name_value) else str(name_value).strip()
    label = (
        f"feature {i} ({format_code(code)} {name})" if code and len(code) == 15 else f"feature {i} ({name})"
    )
    if msg := _code_problem(code, code_value, level, seen):
        problems.add(i, "code", f"{label}: {msg}")
    if code:
        seen.setdefault(code, i)
    if not name:
        problems.add(i, "name", f"{label}: name is empty")
    if not _blank(level_value) and str(level_value).strip() != level:
        problems.add(i, "level", f"{label}: level {level_value!r} does not match the import level {level!r}")
    return {"n": i, "code": code, "name": name, "label": label}


def _code_problem(code: str, code_value, level: str, seen: dict) -> str | None:
    """What is wrong with a feature's code: empty, not 15 digits, not of the level, or repeated; else None."""
    if not code:
        return "code is empty"
    if not (code.isdigit() and len(code) == 15):
        return f"code {code_value!r} is not 15 digits (6+3+3+3, e.g. 620121-003-017-008)"
    if msg := _code_level_problem(code, level):
        return msg
    if code in seen:
        return f"code {format_code(code)} repeats feature {seen[code]}"
    return None


def _code_text(value) -> str:
    """A code cell as digits: dashes and spaces dropped, numbers read as integers."""
    if _blank(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return parse_code(str(value)).replace(" ", "")


def _blank(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == ""


def _code_level_problem(code: str, level: str) -> str | None:
    """Why a 15-digit code cannot be a grid of this level, or None."""
    segment, zero_from = _SEGMENT[level], _ZERO_FROM[level]
    if segment is not None and code[segment] == "000":
        digits = f"{segment.start + 1}-{segment.stop}"
        return f"code {format_code(code)} is not a {level} code (digits {digits} are 000)"
    if code[zero_from:].strip("0"):
        return f"code {format_code(code)} is not a {level} code (digits {zero_from + 1}-15 must be 0)"
    return None


def parent_code(code: str, level: str) -> str:
    """The code of the parent grid: a village's township, a township's county, a county's city."""
    keep = {"county": 4, "township": 6, "village": 9, "grid": 12}[level]
    return code[:keep].ljust(15, "0")


# --- hierarchy -------------------------------------------------------------------------------------------

_PARENTS = text("""
SELECT code, id, level, ST_AsBinary(geom) AS wkb FROM grids WHERE valid_to IS NULL AND code = ANY(:codes)
""").bindparams(bindparam("codes", type_=ARRAY(Text)))


def find_parents(session: Session, rows: list[dict], level: str) -> dict[str, dict]:
    """The current parent row of every feature by parent code; a missing parent is an error."""
    wanted = sorted({parent_code(r["code"], level) for r in rows})
    found = {
        r.code: {"id": r.id, "level": r.level, "geom": shapely.from_wkb(bytes(r.wkb))}
        for r in session.execute(_PARENTS, {"codes": wanted})
    }
    problems = Problems("feature")
    for row in rows:
        pcode = parent_code(row["code"], level)
        if msg := _parent_problem(found.get(pcode), pcode, level):
            problems.add(row["n"], "code", f"{row['label']}: {msg}", NestingError)
    problems.raise_if_any()
    return found


def _parent_problem(parent: dict | None, pcode: str, level: str) -> str | None:
    """Why the parent row found for a feature's code cannot hold it (missing, or of the wrong level)."""
    want_level = _PARENT_LEVEL[level]
    if parent is None and level != "county":
        return f"its {want_level} {format_code(pcode)} does not exist (import the {want_level} first)"
    if parent is not None and parent["level"] != want_level:
        return f"{format_code(pcode)} is a {parent['level']}, not a {want_level}"
    return None


def check_nesting_in_file(rows: list[dict], geoms: np.ndarray, parents: dict, level: str, tol: float) -> None:
    """Before writing: features that spill out of their parent, or overlap a sibling of the same file
    (by more than `tol` m²)."""
    problems = Problems("feature")
    pcodes = [parent_code(r["code"], level) for r in rows]
    _note_spills(rows, geoms, pcodes, parents, tol, problems)
    _note_sibling_overlaps(rows, geoms, pcodes, tol, problems)
    problems.raise_if_any()


def _note_spills(
    rows: list[dict], geoms: np.ndarray, pcodes: list[str], parents: dict, tol: float, problems: Problems
) -> None:
    """Note every feature with more than `tol` m² outside its parent."""
    for row, geom, pcode in zip(rows, geoms, pcodes, strict=True):
        parent = parents.get(pcode)
        outside = area_m2(shapely.difference(geom, parent["geom"])) if parent is not None else 0.0
        if outside > tol:
            problems.add(
                row["n"],
                "geometry",
                f"{row['label']}: grid {format_code(row['code'])} is not within "
                f"its parent {format_code(pcode)}: {outside:,.0f} m² lies outside",
                NestingError,
            )


def _note_sibling_overlaps(
    rows: list[dict], geoms: np.ndarray, pcodes: list[str], tol: float, problems: Problems
) -> None:
    """Note every pair of features of one parent sharing more than `tol` m² (on the later one)."""
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i >= j or pcodes[i] != pcodes[j]:
            continue
        shared = area_m2(shapely.intersection(geoms[i], geoms[j]))
        if shared > tol:
            a, b = rows[i], rows[j]
            problems.add(
                b["n"],
                "geometry",
                f"{b['label']}: grids {format_code(a['code'])} and "
                f"{format_code(b['code'])} overlap by {shared:,.0f} m² (siblings must not overlap)",
                NestingError,
            )


def area_m2(geom) -> float:
    """Approximate area in square metres of a small lon/lat geometry (enough for a tolerance check)."""
    if geom is None or geom.is_empty:
        return 0.0
    lat = geom.centroid.y
    return geom.area * _M2_PER_DEG2 * math.cos(math.radians(lat))
