"""Attribute text that GDAL cuts short at a NUL character, read back from the file itself.

GDAL hands attributes over as C strings, so a name stored as "柳树\\u0000镇" arrives as "柳树": the
import would store the cut value without a word. These readers find the values holding NUL in the
formats we import (GeoJSON, GeoPackage, Shapefile; KML is XML, which cannot hold control characters
and GDAL refuses to read) so that the import refuses them like any other text it cannot store
(geo.io.text). Features are numbered from 1 in the order GDAL reads them.

    read_cut_text(path, layer, encoding) -> {(feature number, column): full text}
"""

import codecs
import json
import sqlite3
import struct
from pathlib import Path

import pyogrio

CutText = dict[tuple[int, str], str]


def read_cut_text(path: Path, layer: str | None = None, encoding: str | None = None) -> CutText:
    """Every attribute value holding NUL, by feature number and column; {} for other formats."""
    suffix = path.suffix.lower()
    if suffix in (".geojson", ".json"):
        return _geojson(path)
    if suffix == ".gpkg":
        return _geopackage(path, layer or str(pyogrio.list_layers(path)[0][0]))
    if suffix == ".shp":
        return _dbf(path, encoding)
    return {}


def _geojson(path: Path) -> CutText:
    data = path.read_bytes()
    if b"\\u0000" not in data:  # how JSON writes NUL (a raw NUL byte is not JSON at all)
        return {}
    try:
        doc = json.loads(data)
    except ValueError:
        return {}  # GDAL has read it; a file json cannot read holds no NUL escape we could place
    features = doc.get("features", []) if doc.get("type") == "FeatureCollection" else [doc]
    return {
        (n, column): value
        for n, feature in enumerate(features, start=1)
        for column, value in ((feature or {}).get("properties") or {}).items()
        if isinstance(value, str) and "\x00" in value
    }


def _geopackage(path: Path, layer: str) -> CutText:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        conn.text_factory = lambda raw: raw.decode("utf-8", "replace")
        table = '"' + layer.replace('"', '""') + '"'
        columns = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
        # GDAL reads a GeoPackage table in rowid (fid) order.
        rows = conn.execute(f"SELECT * FROM {table} ORDER BY rowid")
        return {
            (n, column): value
            for n, row in enumerate(rows, start=1)
            for column, value in zip(columns, row, strict=True)
            if isinstance(value, str) and "\x00" in value
        }


def _dbf(path: Path, encoding: str | None) -> CutText:
    """Character fields of the .dbf beside a .shp (fixed-width records; deleted ones are skipped)."""
    dbf = next((p for p in (path.with_suffix(".dbf"), path.with_suffix(".DBF")) if p.exists()), None)
    if dbf is None:
        return {}
    data = dbf.read_bytes()
    if len(data) < 32:
        return {}
    count, header, size = struct.unpack("<IHH", data[4:12])
    if b"\x00" not in data[header:]:
        return {}
    codec = _codec(encoding or _cpg(path))
    records = (data[header + i * size : header + (i + 1) * size] for i in range(count))
    return _cut_values(records, _dbf_fields(data, header, codec), codec)


def _dbf_fields(data: bytes, header: int, codec: str) -> list[tuple[str, str, int, int]]:
    """(name, type, start, length) of each field of the .dbf header, in record order."""
    fields, offset = [], 1  # byte 0 of a record is the deletion flag
    for at in range(32, header - 1, 32):
        if data[at] == 0x0D:
            break
        name = data[at : at + 11].split(b"\x00")[0].decode(codec, "replace")
        fields.append((name, chr(data[at + 11]), offset, data[at + 16]))
        offset += data[at + 16]
    return fields


def _cut_values(records, fields: list[tuple[str, str, int, int]], codec: str) -> CutText:
    """The character values holding NUL of the records not deleted, by record number and field name."""
    cut: CutText = {}
    for n, record in enumerate((r for r in records if r[:1] != b"*"), start=1):
        for name, kind, start, length in fields:
            raw = record[start : start + length].rstrip(b" \x00")  # padding is not text
            if kind == "C" and b"\x00" in raw:
                cut[(n, name)] = raw.decode(codec, "replace")
    return cut


def _cpg(path: Path) -> str | None:
    cpg = next((p for p in (path.with_suffix(".cpg"), path.with_suffix(".CPG")) if p.exists()), None)
    return cpg.read_text(encoding="ascii", errors="replace").strip() if cpg else None


def _codec(name: str | None) -> str:
    """A Python codec for a .cpg or --encoding name (UTF-8, GBK, 936 ...); UTF-8 when unknown."""
    for candidate in (name, f"cp{name}"):
        try:
            return codecs.lookup(candidate or "").name
        except LookupError:
            continue
    return "utf-8"
