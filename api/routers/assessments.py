"""The monthly worker assessment (网格员考核): JSON, an HTML page or an XLSX workbook; issued (frozen) by
the scheduled `assessments` job after the month ends, or by POST .../issue; reading never issues."""

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from api.deps import SessionDep, SettingsDep, UserDep
from api.permissions import IssueReportUser
from api.routers.reports import _area
from api.routing import ReadRoute
from geo.analytics.assessment import get_assessment, issue_assessment, parse_month
from layers.assessment_render import XLSX_MEDIA_TYPE, assessment_html, assessment_xlsx

router = APIRouter(route_class=ReadRoute, prefix="/api/assessments", tags=["assessments"])
AreaQuery = Annotated[str | None, Query(description="grid-code prefix inside your area (township 9 digits)")]


def _json(body: dict) -> Response:
    return Response(json.dumps(body, ensure_ascii=False, default=str).encode(), media_type="application/json")


@router.get("/{month}", responses={200: {"content": {"text/html": {}, XLSX_MEDIA_TYPE: {}}}})
def get_month(
    month: str,
    session: SessionDep,
    user: UserDep,
    settings: SettingsDep,
    area: AreaQuery = None,
    format_: Annotated[Literal["json", "html", "xlsx"], Query(alias="format")] = "json",
) -> Response:
    """The assessment of a month (YYYY-MM) for the area: as issued (frozen), else counted live (`issued`
    false)."""
    body = get_assessment(session, _area(user.area, area), parse_month(month), settings.fieldwork)
    if format_ == "html":
        return HTMLResponse(assessment_html(session, body, settings.api.web_dir / "templates"))
    if format_ == "xlsx":
        name = f"assessment-{body['month']}-{body['area']}.xlsx"
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        return Response(assessment_xlsx(body), media_type=XLSX_MEDIA_TYPE, headers=headers)
    return _json(body)


@router.post("/{month}/issue")
def issue_month(
    month: str, session: SessionDep, user: IssueReportUser, settings: SettingsDep, area: AreaQuery = None
) -> Response:
    """Issue (count and freeze) an ended month's assessment now; 409 while the month runs."""
    body = issue_assessment(session, _area(user.area, area), parse_month(month), settings.fieldwork)
    session.commit()
    return _json(body)
