"""Reference reads for the console: case categories, and a grid worker's own task list."""

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import SessionDep, UserDep
from api.routing import ReadRoute
from api.schemas import EventPublic
from geo.queries.console import list_categories, list_worker_tasks

router = APIRouter(route_class=ReadRoute, prefix="/api", tags=["console"])


class TaskPublic(EventPublic):
    """A case assigned to the requesting worker, with the statuses they may move it to."""

    category_zh: str
    next: list[str]


@router.get("/categories")
def get_categories(session: SessionDep) -> list[dict]:
    """Every category: code, kind (dispute / hazard / appeal), Chinese and English labels."""
    return list_categories(session)


@router.get("/me/tasks", response_model=list[TaskPublic])
def get_my_tasks(
    session: SessionDep, user: UserDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list:
    """The open cases assigned to the requester's worker (empty for accounts bound to no worker)."""
    if user.worker_id is None:
        return []
    return list_worker_tasks(session, user.worker_id, user.area, limit)
