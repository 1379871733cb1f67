"""Period reports: 日调度、周分析、月研判、季考评 as JSON, an HTML page or a PDF download.

A report of a period that has ended is issued on first request and frozen from then on (see
geo.analytics.reports); a report of the running period is live and says so.
"""

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from api.deps import SessionDep, SettingsDep, UserDep
from geo.analytics.reports import LOCAL_TZ, PERIODS, get_report
from geo.errors import InvalidInputError, NotFoundError
from layers.report_render import report_html, report_pdf

router = APIRouter(prefix="/api/reports", tags=["reports"])


def _area(user_area: str, area: str | None) -> str:
    """The requested area, which must lie inside the requester's own (a longer code prefix or the same)."""
    if area in (None, ""):
        return user_area
    if not area.isdigit() or len(area) not in (6, 9, 12, 15):
        raise InvalidInputError(
            f"area must be a grid code prefix of 6, 9, 12 or 15 digits; got {area!r}", where="area"
        )
    if not area.startswith(user_area):
        raise NotFoundError(f"no area {area} in your jurisdiction", where="area")
    return area


def _day(value: str | None) -> date:
    if value in (None, ""):
        return datetime.now(LOCAL_TZ).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInputError(f"date must be YYYY-MM-DD; got {value!r}", where="date") from None


@router.get("/{period}", responses={200: {"content": {"text/html": {}, "application/pdf": {}}}})
def get_period_report(
    period: Literal["daily", "weekly", "monthly", "quarterly"],
    session: SessionDep,
    user: UserDep,
    settings: SettingsDep,
    date_: Annotated[str | None, Query(alias="date", description="a day in the period, YYYY-MM-DD")] = None,
    area: Annotated[
        str | None, Query(description="grid-code prefix inside your area (township 9 digits)")
    ] = None,
    format_: Annotated[Literal["json", "html", "pdf"], Query(alias="format")] = "json",
) -> Response:
    """The report of the period holding `date` for the area: frozen once the period has ended."""
    report = get_report(session, period, _area(user.area, area), _day(date_))
    if report["issued"]:
        session.commit()  # issuing stores the frozen figures (a no-op when it was issued before)
    templates = settings.web_dir / "templates"
    if format_ == "html":
        return HTMLResponse(report_html(session, report, templates))
    if format_ == "pdf":
        name = f"report-{period}-{report['start'][:10]}-{report['area']}.pdf"
        return Response(
            report_pdf(session, report, templates),
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return Response(_json(report), media_type="application/json")


def _json(report: dict) -> bytes:
    import json

    return json.dumps(report, ensure_ascii=False, default=str).encode()


__all__ = ["PERIODS", "router"]
