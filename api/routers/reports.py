"""Period reports: 日调度、周分析、月研判、季考评 as JSON, an HTML page or a PDF download.

A report is issued (counted and frozen) by the scheduled `reports` job after its period ends, or by
`POST /api/reports/{period}/issue`; reading one never issues it. A period not issued yet is counted live
up to now and says so (`issued: false`). Times are in the county's zone (`zone`), with their offset.
"""

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from api.deps import SessionDep, SettingsDep, UserDep
from api.permissions import IssueReportUser
from api.routing import ReadRoute
from api.settings import Settings
from geo import clock
from geo.analytics.reports import PERIODS, get_report, issue_report
from geo.errors import InvalidInputError, NotFoundError
from layers.report_render import report_html, report_pdf

router = APIRouter(route_class=ReadRoute, prefix="/api/reports", tags=["reports"])


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
        return clock.today()
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
    """The report of the period holding `date` for the area: as issued (frozen), else counted live."""
    report = get_report(session, period, _area(user.area, area), _day(date_))
    return _render(session, report, format_, settings)


@router.post("/{period}/issue")
def issue_period_report(
    period: Literal["daily", "weekly", "monthly", "quarterly"],
    session: SessionDep,
    user: IssueReportUser,
    date_: Annotated[str | None, Query(alias="date", description="a day in the period, YYYY-MM-DD")] = None,
    area: Annotated[
        str | None, Query(description="grid-code prefix inside your area (township 9 digits)")
    ] = None,
) -> Response:
    """Issue (count and freeze) the report of an ended period now; 409 while the period runs."""
    report = issue_report(session, period, _area(user.area, area), _day(date_))
    session.commit()
    return Response(_json(report), media_type="application/json")


def _render(session: Session, report: dict, format_: str, settings: Settings) -> Response:
    """The report as JSON, an HTML page or a PDF download."""
    templates = settings.api.web_dir / "templates"
    if format_ == "html":
        return HTMLResponse(report_html(session, report, templates))
    if format_ == "pdf":
        name = f"report-{report['period']}-{report['start'][:10]}-{report['area']}.pdf"
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
