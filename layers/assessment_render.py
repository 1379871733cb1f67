"""The monthly worker assessment (网格员考核) drawn for people: an HTML page (Jinja) and an XLSX workbook.

Both are made from the assessment as the API returns it (geo.analytics.assessment), so an issued month
looks the same whenever it is opened; names are as the database gave them to the reader (masked for
roles without clearance).
"""

import io
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from geo.analytics.assessment import FIGURES
from geo.models import format_code
from geo.queries.grids import area_name
from layers.report_render import _environment

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_HEAD = ("乡镇（街道）", "排名", "网格员", "网格编码", *(label for _, label in FIGURES))


def assessment_html(session: Session, assessment: dict[str, Any], template_dir: Path) -> str:
    """The assessment as a Chinese HTML page, one table per township in rank order."""
    template = _environment(template_dir).get_template("reports/assessment.html")
    return template.render(a=assessment, area_name=area_name(session, assessment["area"]), figures=FIGURES)


def assessment_xlsx(assessment: dict[str, Any]) -> bytes:
    """The assessment as a workbook: one sheet of every worker (township, rank, figures) and a note sheet."""
    from openpyxl import Workbook

    book = Workbook()
    _write_results(book.active, assessment["rows"])
    _write_note(book.create_sheet("说明"), assessment)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _write_results(sheet: Any, rows: list[dict[str, Any]]) -> None:
    """The results sheet: a bold head, one line per worker by township and rank, the head frozen."""
    from openpyxl.styles import Font

    sheet.title = "考核结果"
    sheet.append(list(_HEAD))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for r in sorted(rows, key=lambda r: (r["township_code"], r["township_rank"], r["worker_id"])):
        sheet.append(_worker_line(r))
    sheet.freeze_panes = "A2"
    for column, width in zip("ABCD", (16, 6, 10, 22), strict=True):
        sheet.column_dimensions[column].width = width


def _worker_line(r: dict[str, Any]) -> list[Any]:
    """One worker's line: township, rank, name, grid code, then the figures."""
    head = [
        r["township"] or r["township_code"],
        r["township_rank"],
        r["name"],
        format_code(r["grid_code"]),
    ]
    return head + [r[key] for key, _ in FIGURES]


def _write_note(sheet: Any, assessment: dict[str, Any]) -> None:
    """The note sheet: the title, the period, the data's cutoff and whether the month is issued."""
    status = (
        f"已签发（{assessment['issued_at']}），数据冻结" if assessment["issued"] else "尚未签发，实时统计"
    )
    for line in (
        assessment["title"],
        f"考核期 {assessment['start'][:10]} 至 {assessment['end'][:10]}（不含）",
        f"数据截止 {assessment['cutoff_at']}",
        status,
    ):
        sheet.append([line])
