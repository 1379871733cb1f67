"""Import events (disputes, hazards, appeals) from CSV or XLSX.

Every row is checked (columns, text we cannot store in any cell we read (geo.io.text), coordinates
and their CRS, category, severity, status, source, dates, wage figures, whether the point lies in a
county we hold) before one INSERT writes them all; the events trigger then puts each event in its
small grid. Errors are gathered per row and raised together, the message naming the first.
"""

from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import BigInteger, DateTime, Float, Integer, Numeric, SmallInteger, Text

from geo import clock, vocabulary
from geo.crs import SourceCrs, parse_crs, to_wgs84_lonlat
from geo.errors import InvalidInputError, OutsideCountyError, SwappedAxesError, UnknownCrsError
from geo.io.common import ImportReport, Problems, normalise_columns, require_file
from geo.io.fields import (
    SOURCE_WORDS,
    STATUS_WORDS,
    is_blank,
    read_category,
    read_choice,
    read_coordinate,
    read_date,
    read_severity,
    read_wages,
)
from geo.io.text import column_note, unstorable_reason
from geo.jobs import queue
from geo.models import EVENT_STATUSES, SOURCES

_ALIASES = {
    "lon": "lon",
    "lng": "lon",
    "long": "lon",
    "longitude": "lon",
    "x": "lon",
    "经度": "lon",
    "lat": "lat",
    "latitude": "lat",
    "y": "lat",
    "纬度": "lat",
    "kind": "kind",
    "类型": "kind",
    "事件类型": "kind",
    "category": "category",
    "类别": "category",
    "分类": "category",
    "事项类别": "category",
    "severity": "severity",
    "等级": "severity",
    "级别": "severity",
    "严重程度": "severity",
    "status": "status",
    "状态": "status",
    "reported_at": "reported_at",
    "上报时间": "reported_at",
    "时间": "reported_at",
    "reported": "reported_at",
    "closed_at": "closed_at",
    "办结时间": "closed_at",
    "source": "source",
    "来源": "source",
    "title": "title",
    "标题": "title",
    "description": "description",
    "描述": "description",
    "内容": "description",
    "wage_owed": "wage_owed",
    "欠薪金额": "wage_owed",
    "wage_recovered": "wage_recovered",
    "追回金额": "wage_recovered",
    "wage_workers": "wage_workers",
    "涉及人数": "wage_workers",
}
REQUIRED = ("lon", "lat", "category", "severity", "source", "reported_at")
# Our own XLSX exports head their columns with the Chinese field names (geo.vocabulary.FIELDS).
_ALIASES |= {vocabulary.label("field", f): f for f in set(_ALIASES.values())}


def import_events(
    session: Session, path: str | Path, *, crs: str = "wgs84", sheet: str | None = None
) -> ImportReport:
    """Validate every row of a CSV/XLSX of events, then insert them all in one statement.

    Args:
        crs: the CRS of the lon/lat columns: wgs84 (GPS), gcj02 (Gaode, Tencent, WeChat) or bd09 (Baidu).
        sheet: the XLSX sheet to read (default: the first).
    """
    src = _lonlat_crs(crs)
    path = require_file(path)
    frame = _read_table(path, sheet)
    report = ImportReport(what="events", source=path.name, crs=src.name if src.is_shifted else "WGS84")
    columns = _map_columns(frame, report)
    rows, lon, lat = _check_rows(session, frame, columns, crs)
    if not rows:
        raise InvalidInputError(f"{path.name} holds no data rows", where="file")
    _write_rows(session, rows, lon, lat, report)
    return report


def _lonlat_crs(crs: str) -> SourceCrs:
    """The CRS of the lon/lat columns: WGS84 or one of the shifted Chinese ones, else UnknownCrsError."""
    src = parse_crs(crs)
    if not src.is_shifted and (src.pyproj is None or src.pyproj.to_epsg() != 4326):
        raise UnknownCrsError(
            f"event coordinates must be lon/lat in wgs84, gcj02 or bd09; got {crs!r}", where="crs"
        )
    return src


def _check_rows(
    session: Session, frame: pd.DataFrame, columns: dict[str, str], crs: str
) -> tuple[list[dict], np.ndarray, np.ndarray]:
    """Every row read and checked, with its WGS84 lon/lat; the problems of all of them raised together."""
    categories = _categories(session)
    problems = Problems("row")
    rows = [
        _check_row(n, rec, columns, categories, problems)
        for n, rec in enumerate(frame.to_dict("records"), start=1)
    ]
    lon, lat = _convert(rows, crs)
    _check_places(session, rows, lon, lat, crs, problems)
    problems.raise_if_any()
    return rows, lon, lat


def _write_rows(session: Session, rows: list[dict], lon, lat, report: ImportReport) -> None:
    """Insert the rows, queue their counties' analyses, and warn of events that found no small grid."""
    ids = _insert(session, rows, lon, lat)
    report.inserted = len(ids)
    _queue_refresh(session, ids)
    if unplaced := _count_without_grid(session, ids):
        report.warnings.append(
            f"{unplaced} event(s) lie in the county but in no small grid (grid left empty)"
        )


# --- reading ---------------------------------------------------------------------------------------------


def _read_table(path: Path, sheet: str | None) -> pd.DataFrame:
    """The rows of a CSV (UTF-8, with or without BOM, or GBK as Excel saves it) or of an XLSX sheet."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            raw = path.read_bytes()
            try:
                content = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                content = raw.decode("gb18030")
            return pd.read_csv(StringIO(content), dtype=str, keep_default_na=False, skipinitialspace=True)
        if suffix in (".xlsx", ".xlsm"):
            return pd.read_excel(path, sheet_name=sheet or 0, dtype=object, engine="openpyxl")
    except (ValueError, KeyError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InvalidInputError(f"cannot read {path.name}: {exc}", where="file") from exc
    raise InvalidInputError(f"events come as .csv or .xlsx; got {path.name}", where="file")


def _map_columns(frame: pd.DataFrame, report: ImportReport) -> dict[str, str]:
    """Our field -> the file's column; missing required columns are an error, unknown ones a warning."""
    mapping = normalise_columns(frame.columns, _ALIASES)
    for col, field_name in mapping.items():
        if not field_name:
            report.warnings.append(f"ignored unknown column {col!r}")
    found: dict[str, str] = {}
    for col, field_name in mapping.items():
        if field_name and field_name not in found:
            found[field_name] = col
    missing = [f for f in REQUIRED if f not in found]
    if missing:
        raise InvalidInputError(
            f"missing required column(s) {', '.join(missing)}; the file has "
            + ", ".join(map(str, frame.columns))
            + f". Required: {', '.join(REQUIRED)}; optional: kind, status, title, description, closed_at, "
            "wage_owed, wage_recovered, wage_workers",
            where=missing[0],
        )
    return found


_CATEGORIES = text("SELECT code, kind, label_zh FROM categories")


def _categories(session: Session) -> dict[str, tuple[str, str]]:
    """Category code and Chinese label -> (code, kind)."""
    out = {}
    for row in session.execute(_CATEGORIES):
        out[row.code] = out[row.label_zh] = (row.code, row.kind)
    return out


# --- one row ---------------------------------------------------------------------------------------------


def _check_row(n: int, rec: dict, columns: dict[str, str], categories: dict, problems: Problems) -> dict:
    """Read and check one row; problems are noted, not raised."""

    def cell(field_name: str):
        value = rec.get(columns[field_name]) if field_name in columns else None
        return None if is_blank(value) else value

    def bad(field_name: str, msg: str, kind=InvalidInputError):
        problems.add(n, field_name, f"row {n}: {field_name} {msg}", kind)

    if unstorable := _unstorable_cells(rec, columns):
        for field_name, msg in unstorable:
            bad(field_name, msg)
        return {"n": n, "lon": None, "lat": None}  # refused; its other cells are checked once it can be read
    return _read_cells(n, cell, bad, categories)


def _read_cells(n: int, cell, bad, categories: dict) -> dict:
    """Row `n` read field by field (geo.io.fields); `cell(field)` gives a cell, `bad` notes a problem."""
    row: dict = {"n": n}
    row["lon"] = read_coordinate(cell("lon"), "lon", bad)
    row["lat"] = read_coordinate(cell("lat"), "lat", bad)
    row["kind"], row["category"] = read_category(cell("kind"), cell("category"), categories, bad)
    row["severity"] = read_severity(cell("severity"), bad)
    row["status"] = read_choice(cell("status") or "reported", EVENT_STATUSES, STATUS_WORDS, "status", bad)
    row["source"] = read_choice(cell("source"), SOURCES, SOURCE_WORDS, "source", bad)
    row["reported_at"] = read_date(cell("reported_at"), "reported_at", bad, required=True)
    row["closed_at"] = read_date(cell("closed_at"), "closed_at", bad, required=False)
    if row["reported_at"] and row["closed_at"] and row["closed_at"] < row["reported_at"]:
        bad("closed_at", "is before reported_at")
    row["title"] = str(cell("title") or "").strip()
    row["description"] = str(cell("description") or "").strip()
    read_wages(row, cell, bad)
    return row


def _unstorable_cells(rec: dict, columns: dict[str, str]) -> list[tuple[str, str]]:
    """(field, why) for each cell we read whose text we cannot store (geo.io.text). The raw cell is
    checked: one holding only \\x1c-\\x1f would pass as blank (they are whitespace to str.isspace)."""
    return [
        (f, column_note(f, col) + reason)
        for f, col in columns.items()
        if isinstance(value := rec.get(col), str) and (reason := unstorable_reason(value))
    ]


# --- places ----------------------------------------------------------------------------------------------


def _convert(rows: list[dict], crs: str) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 lon/lat of every row (NaN where a coordinate was bad)."""
    lon = np.array([np.nan if r["lon"] is None else r["lon"] for r in rows], dtype=float)
    lat = np.array([np.nan if r["lat"] is None else r["lat"] for r in rows], dtype=float)
    if not rows:
        return lon, lat
    return to_wgs84_lonlat(lon, lat, crs)


# The points outside every current county, and whether swapping lon/lat would put them in one: one query
# for the whole file, and the swapped reading is only tried for the few points that are outside.
_OUTSIDE_COUNTIES = text("""
SELECT t.i,
       EXISTS (SELECT 1 FROM grids g WHERE g.level = 'county' AND g.valid_to IS NULL
               AND ST_Covers(g.geom, ST_SetSRID(ST_MakePoint(t.sx, t.sy), 4326))) AS swapped_inside
FROM unnest(:i, :x, :y, :sx, :sy) AS t(i, x, y, sx, sy)
WHERE NOT EXISTS (SELECT 1 FROM grids g WHERE g.level = 'county' AND g.valid_to IS NULL
                  AND ST_Covers(g.geom, ST_SetSRID(ST_MakePoint(t.x, t.y), 4326)))
""").bindparams(
    bindparam("i", type_=ARRAY(Integer)), *(bindparam(k, type_=ARRAY(Float)) for k in ("x", "y", "sx", "sy"))
)
_ANY_COUNTY = text("SELECT EXISTS (SELECT 1 FROM grids WHERE level = 'county' AND valid_to IS NULL)")


def _check_places(session: Session, rows: list[dict], lon, lat, crs: str, problems: Problems) -> None:
    """Every point must lie in a county we hold; say so when swapping lon and lat would put it there."""
    ok = [i for i, r in enumerate(rows) if r["lon"] is not None and r["lat"] is not None]
    if not ok:
        return
    if not session.execute(_ANY_COUNTY).scalar():
        problems.add(
            None,
            "lon,lat",
            "no county boundary is loaded: import the county and its grids first",
            OutsideCountyError,
        )
        return
    for res in session.execute(_OUTSIDE_COUNTIES, _outside_params(rows, ok, lon, lat, crs)):
        row = rows[res.i]
        msg, kind = _outside_problem(row, res.swapped_inside, crs)
        problems.add(row["n"], "lon,lat", msg, kind)


def _outside_params(rows: list[dict], ok: list[int], lon, lat, crs: str) -> dict:
    """_OUTSIDE_COUNTIES' arrays: the readable points, and each as if lon and lat were swapped."""
    # The swapped reading is converted from the same CRS, as if the columns had been exchanged.
    slon, slat = to_wgs84_lonlat(
        np.array([rows[i]["lat"] for i in ok]), np.array([rows[i]["lon"] for i in ok]), crs
    )
    return {"i": ok, "x": lon[ok].tolist(), "y": lat[ok].tolist(), "sx": slon.tolist(), "sy": slat.tolist()}


def _outside_problem(row: dict, swapped_inside: bool, crs: str) -> tuple[str, type[InvalidInputError]]:
    """What to say of a point outside every county (swapped, out of range, elsewhere), and its error."""
    where = f"lon {row['lon']}, lat {row['lat']} ({crs})"
    if swapped_inside:
        return f"row {row['n']}: longitude and latitude appear swapped ({where})", SwappedAxesError
    if not (-180 <= row["lon"] <= 180 and -90 <= row["lat"] <= 90):
        return (
            f"row {row['n']}: {where} is out of range (longitude -180..180, latitude -90..90)",
            InvalidInputError,
        )
    return f"row {row['n']}: {where} lies outside every county we hold", OutsideCountyError


# --- writing ---------------------------------------------------------------------------------------------

# One INSERT for the whole file; the events trigger sets grid_id/grid_code row by row.
_INSERT = text("""
INSERT INTO events (kind, category, severity, status, title, description, source, reported_at, closed_at,
                    geom,                     wage_owed, wage_recovered, wage_workers, created_at)
SELECT t.kind, t.category, t.severity, t.status, t.title, t.description, t.source, t.reported_at, t.closed_at,
       ST_SetSRID(ST_MakePoint(t.x, t.y), 4326), t.wage_owed, t.wage_recovered, t.wage_workers, :now
FROM unnest(:kind, :category, :severity, :status, :title, :description, :source, :reported_at, :closed_at,
            :x, :y, :wage_owed, :wage_recovered, :wage_workers)
     AS t(kind, category, severity, status, title, description, source, reported_at, closed_at, x, y,
          wage_owed, wage_recovered, wage_workers)
RETURNING id
""").bindparams(
    *(
        bindparam(k, type_=ARRAY(Text))
        for k in ("kind", "category", "status", "title", "description", "source")
    ),
    bindparam("severity", type_=ARRAY(SmallInteger)),
    bindparam("reported_at", type_=ARRAY(DateTime(timezone=True))),
    bindparam("closed_at", type_=ARRAY(DateTime(timezone=True))),
    bindparam("x", type_=ARRAY(Float)),
    bindparam("y", type_=ARRAY(Float)),
    bindparam("wage_owed", type_=ARRAY(Numeric(14, 2))),
    bindparam("wage_recovered", type_=ARRAY(Numeric(14, 2))),
    bindparam("wage_workers", type_=ARRAY(Integer)),
)


def _insert(session: Session, rows: list[dict], lon, lat) -> list[int]:
    """Insert every row in one statement; return the new ids."""
    keys = (
        "kind",
        "category",
        "severity",
        "status",
        "title",
        "description",
        "source",
        "reported_at",
        "closed_at",
        "wage_owed",
        "wage_recovered",
        "wage_workers",
    )
    params = {k: [r[k] for r in rows] for k in keys}
    params["x"], params["y"] = lon.tolist(), lat.tolist()
    params["now"] = clock.now()
    return list(session.execute(_INSERT, params).scalars())


_COUNTY_CODES = text("SELECT DISTINCT grid_code FROM events WHERE id = ANY(:ids)").bindparams(
    bindparam("ids", type_=ARRAY(BigInteger))
)


def _queue_refresh(session: Session, ids: list[int]) -> None:
    """Queue the analyses of the counties the new cases lie in (geo.jobs)."""
    codes = list(session.execute(_COUNTY_CODES, {"ids": ids}).scalars())
    queue.enqueue_refresh_for_codes(session, codes)


_WITHOUT_GRID = text("SELECT count(*) FROM events WHERE id = ANY(:ids) AND grid_id IS NULL").bindparams(
    bindparam("ids", type_=ARRAY(BigInteger))
)


def _count_without_grid(session: Session, ids: list[int]) -> int:
    """How many of the events just inserted found no small grid."""
    return session.execute(_WITHOUT_GRID, {"ids": ids}).scalar_one()
