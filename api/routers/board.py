"""The dispatch board, the desk's case lists (filtered, searched, sorted, paged), overdue counts per grid,
and the steps a case offers the desk now."""

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import SessionDep, SettingsDep, UserDep
from api.permissions import actor, allowed
from api.routing import ReadRoute
from api.schemas_desk import CasePagePublic, StepPublic
from api.schemas_dispatch import BoardPublic, GridOverduePublic
from geo import lifecycle
from geo.queries import caselist, dispatch, events, overdue

router = APIRouter(route_class=ReadRoute, prefix="/api", tags=["dispatch"])
ViewQuery = Annotated[str, Query(description="queue 待派遣 | open 在办 | referred 移交在外 | all 全部")]
DeadlineQuery = Annotated[
    str | None, Query(description="overdue 超期 | due_soon 临期 | suspended 挂账 | none")
]


@router.get("/board", response_model=BoardPublic)
def get_board(session: SessionDep, user: UserDep, limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict:
    """Unassigned queue by priority (severity, deadline, age), workers' open tasks, open requests.

    Worker names (and phones or ID numbers in titles) are masked for roles without clearance.
    """
    return dispatch.get_board(session, user.area, limit)


@router.get("/events", response_model=CasePagePublic)
def list_cases(
    session: SessionDep,
    user: UserDep,
    settings: SettingsDep,
    view: ViewQuery = "queue",
    status: Annotated[str | None, Query(description="状态，逗号分隔，如 reported,registered")] = None,
    category: Annotated[str | None, Query(pattern=r"^[a-z_]{2,40}$")] = None,
    township: Annotated[str | None, Query(description="乡镇编码（9 位）")] = None,
    deadline: DeadlineQuery = None,
    q: Annotated[str, Query(max_length=100, description="案件编号或标题中的文字")] = "",
    sort: Annotated[str, Query(description="priority | newest | oldest | deadline")] = "priority",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=caselist.MAX_PER_PAGE)] = 20,
) -> dict:
    """A page of the area's cases with the total: the desk's queue, overdue and due-soon lists, search."""
    statuses = tuple(s for s in (status or "").split(",") if s)
    near = settings.dispatch.near_deadline_h
    query = caselist.CaseQuery(view, statuses, category, township, deadline, q, sort, page, per_page, near)
    return caselist.list_cases(session, user.area, query)


@router.get("/events/{event_id}/steps", response_model=list[StepPublic])
def list_steps(event_id: int, session: SessionDep, user: UserDep) -> list:
    """The steps the desk can offer on the case now, for this account (its role's permissions; a step
    the rules refuse to this person, such as verifying one's own handling, says why in `blocked`)."""
    event = events.get_event(session, event_id, user.area)
    steps = [s for s in lifecycle.desk_steps(event, actor(user)) if allowed(user, s.permission)]
    return [{"action": s.action, "label": s.label, "needs": s.needs, "blocked": s.blocked} for s in steps]


@router.get("/grids/overdue", response_model=list[GridOverduePublic])
def count_overdue_by_grid(
    session: SessionDep, user: UserDep, limit: Annotated[int, Query(ge=1, le=10000)] = 1000
) -> list:
    """How many overdue cases each small grid holds, most first."""
    return overdue.count_overdue_by_grid(session, user.area, limit)
