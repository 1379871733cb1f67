"""The dispatch board, overdue counts per grid, and department answers to requests."""

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import SessionDep, UserDep
from api.permissions import WhistleUser, actor
from api.schemas import BoardPublic, GridOverduePublic, WhistlePublic, WhistleResponseIn
from geo.queries import casework, dispatch, events

router = APIRouter(prefix="/api", tags=["dispatch"])


@router.get("/board", response_model=BoardPublic)
def get_board(session: SessionDep, user: UserDep, limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict:
    """Unassigned queue by priority (severity, deadline, age), workers' open tasks, open requests.

    Worker names (and phones or ID numbers in titles) are masked for roles without clearance.
    """
    return dispatch.get_board(session, user.area, limit)


@router.get("/grids/overdue", response_model=list[GridOverduePublic])
def count_overdue_by_grid(
    session: SessionDep, user: UserDep, limit: Annotated[int, Query(ge=1, le=10000)] = 1000
) -> list:
    """How many overdue cases each small grid holds, most first."""
    return events.count_overdue_by_grid(session, user.area, limit)


@router.post("/whistles/{whistle_id}/response", response_model=WhistlePublic)
def respond_whistle(whistle_id: int, body: WhistleResponseIn, session: SessionDep, user: WhistleUser) -> dict:
    """A department answers a request (报到); a second answer is 409."""
    whistle = casework.respond_whistle(session, whistle_id, body.response, area=user.area, actor=actor(user))
    session.commit()
    return whistle
