"""XLSX workbooks (openpyxl) for people: Chinese headers, times in the county's zone, one sheet per list.

Excel has no time zones, so a time is written as text with its offset, 2026-11-27 09:30:00+08:00, the
same text as the CSV exports (and what `gridgov import events` reads back). Lists and dicts (a list
of tasks, a history) become one line of text each, joined by "；".
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any

from geo import clock

MAX_WIDTH = 60
MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Sheet:
    """One sheet: its name, its columns as (key, header), and its rows (dicts by key)."""

    name: str
    columns: Sequence[tuple[str, str]]
    rows: Iterable[dict[str, Any]]


def cell_value(value: Any) -> Any:
    """What a cell holds: numbers and text as they are, times as county time with the offset, lists
    as text, booleans as 是/否."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        return clock.local(value).isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list | tuple):
        return "；".join(str(cell_value(v)) for v in value)
    if isinstance(value, dict):
        return "，".join(f"{k}：{cell_value(v)}" for k, v in value.items() if v not in (None, ""))
    return value


def workbook_bytes(sheets: Sequence[Sheet]) -> bytes:
    """The sheets as the bytes of an .xlsx file (for a download)."""
    buffer = BytesIO()
    write_workbook(buffer, sheets)
    return buffer.getvalue()


def write_workbook(path: str | Path | BytesIO, sheets: Sequence[Sheet]) -> dict[str, int]:
    """Write the sheets to an .xlsx file (bold frozen header, widths to fit); rows per sheet."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    counts = {}
    for sheet in sheets:
        counts[sheet.name] = _write_sheet(book, sheet)
    book.save(path)
    return counts


def _write_sheet(book: Any, sheet: Sheet) -> int:
    """Add one sheet to the workbook: bold frozen header, its rows, widths to fit; return the row count."""
    from openpyxl.styles import Font

    ws = book.create_sheet(sheet.name[:31])
    ws.append([header for _, header in sheet.columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    n = 0
    for row in sheet.rows:
        ws.append([cell_value(row.get(key)) for key, _ in sheet.columns])
        n += 1
    ws.freeze_panes = "A2"
    _fit_widths(ws)
    return n


def _fit_widths(ws: Any) -> None:
    """Column widths from the longest text (a CJK character counts two)."""
    for column in ws.columns:
        longest = max((_width(c.value) for c in column), default=8)
        ws.column_dimensions[column[0].column_letter].width = min(max(longest + 2, 8), MAX_WIDTH)


def _width(value: Any) -> int:
    text = "" if value is None else str(value)
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)
