"""Headline figures, open cases and on-duty workers of an area, for the commander's big screen."""

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import SessionDep, UserDep
from api.routing import ReadRoute
from geo.errors import NotFoundError
from geo.queries import summary

router = APIRouter(route_class=ReadRoute, prefix="/api/summary", tags=["console"])
AreaQuery = Annotated[str | None, Query(pattern=r"^[0-9]{6,15}$", description="grid-code prefix")]


def _area(user_area: str, area: str | None) -> str:
    """The requested area, which must lie within the user's own; anything else is "not found"."""
    if area is None:
        return user_area
    area = area.rstrip("0") if len(area) == 15 else area
    # A township's 15-digit code ends in zeros: keep whole 3-digit groups after the county adcode.
    while len(area) > 6 and len(area) % 3:
        area += "0"
    if not area.startswith(user_area):
        raise NotFoundError(f"没有编码为 {area} 的区域", where="area")
    return area


@router.get("")
def get_summary(session: SessionDep, user: UserDep, area: AreaQuery = None) -> dict:
    """Today's new disputes/hazards/appeals, open, overdue, resolution rate (30 days), wages recovered
    this year, and workers on duty, for the user's area or a sub-area (`area` = code prefix or full code).
    """
    prefix = _area(user.area, area)
    place = summary.find_area(session, prefix)
    return {"area": prefix, "place": place, **summary.summarize(session, prefix)}


@router.get("/open-events")
def get_open_events(
    session: SessionDep,
    user: UserDep,
    area: AreaQuery = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 5000,
) -> list:
    """Open cases of the area (no personal data; lon/lat WGS84)."""
    return summary.list_open_events(session, _area(user.area, area), limit)


@router.get("/on-duty")
def get_on_duty(
    session: SessionDep,
    user: UserDep,
    area: AreaQuery = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 2000,
) -> list:
    """Workers on duty in the area, busiest first (names masked for roles without clearance)."""
    return summary.list_on_duty(session, _area(user.area, area), limit)


@router.get("/departments")
def get_departments(session: SessionDep, user: UserDep) -> list:
    """Departments of the user's county (id, code, name, kind), for 吹哨报到."""
    return summary.list_departments(session, user.area)
