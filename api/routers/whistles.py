"""Departments' tasks (吹哨报到, 移交): the department's own desk and the centre's view of each answer.

A department account lists its tasks, signs for one (签收), reports (报到) and reports back when done
(办结反馈), with text and photos; the centre lists the tasks of a case with their lateness and picks a
department to whistle, those taking the case's category first.
"""

from typing import Annotated, Literal

from fastapi import APIRouter, File, Header, Query, Request, Response, UploadFile, status
from sqlalchemy.orm import Session

from api.deps import CurrentUser, SessionDep, UserDep
from api.permissions import require
from api.routers.photos import PhotoPublic, answer_photo, read_upload
from api.routing import ReadRoute
from api.schemas_desk import DepartmentChoicePublic, TaskTextIn, WhistlePublic
from geo.errors import InvalidInputError
from geo.queries import photos, whistles

router = APIRouter(route_class=ReadRoute, prefix="/api", tags=["departments"])
DepartmentUser = Annotated[CurrentUser, require("answer_task")]
PhotoKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)]


@router.get("/whistles", response_model=list[WhistlePublic])
def list_tasks(
    session: SessionDep,
    user: UserDep,
    state: Annotated[Literal["open", "done"], Query(description="open 在办 | done 已办结或撤回")] = "open",
    department_id: Annotated[int | None, Query(gt=0, description="centre only: one department")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list:
    """Departments' tasks in the area, the most urgent open ones first; a department account gets its
    own (row-level security shows it nothing else)."""
    dept = whistles.own_department(session) if user.role == "department" else department_id
    return whistles.list_tasks(session, user.area, state=state, department_id=dept, limit=limit)


@router.get("/whistles/{whistle_id}", response_model=WhistlePublic)
def get_task(whistle_id: int, session: SessionDep, user: UserDep) -> dict:
    """One task with its steps and lateness."""
    return whistles.get_task(session, whistle_id, user.area)


def _step(session: SessionDep, user: CurrentUser, whistle_id: int, step: str, text: str = "") -> dict:
    task = whistles.take_step(
        session, whistle_id, step, role=user.role, actor=user.name, area=user.area, text_=text
    )
    session.commit()
    return task


@router.post("/whistles/{whistle_id}/sign", response_model=WhistlePublic)
def sign_task(whistle_id: int, session: SessionDep, user: DepartmentUser) -> dict:
    """签收: the department takes the task on (its own department's tasks only; once)."""
    return _step(session, user, whistle_id, "sign")


@router.post("/whistles/{whistle_id}/response", response_model=WhistlePublic)
def answer_task(whistle_id: int, body: TaskTextIn, session: SessionDep, user: DepartmentUser) -> dict:
    """报到: the department's answer, after signing; late when after `respond_by` (said, not refused)."""
    return _step(session, user, whistle_id, "answer", body.text)


@router.post("/whistles/{whistle_id}/feedback", response_model=WhistlePublic)
def finish_task(whistle_id: int, body: TaskTextIn, session: SessionDep, user: DepartmentUser) -> dict:
    """办结反馈: the department reports back when done, after its answer; late after `finish_by`."""
    return _step(session, user, whistle_id, "finish", body.text)


@router.post("/whistles/{whistle_id}/photos", status_code=status.HTTP_201_CREATED, response_model=PhotoPublic)
def upload_task_photo(
    whistle_id: int,
    photo: Annotated[UploadFile, File(description="JPEG or PNG")],
    request: Request,
    session: SessionDep,
    user: DepartmentUser,
    response: Response,
    key: PhotoKey = None,
) -> dict:
    """A photo with the department's answer; stored with the case (a repeated key answers 200)."""
    data, cap = read_upload(request, photo)
    row, created = _add_task_photo(session, whistle_id, data, user, cap, key)
    session.commit()
    return answer_photo(response, row, created)


def _add_task_photo(
    session: Session, whistle_id: int, data: bytes, user: CurrentUser, cap: int, key: str | None
) -> tuple[dict, bool]:
    """Store the photo with the case of the department's task in hand; the row and whether it is new."""
    task = whistles.get_task(session, whistle_id, user.area)
    _check_own_open_task(session, task)
    return photos.add_photo(
        session,
        task["event_id"],
        data,
        area=user.area,
        actor=user.name,
        max_bytes=cap,
        client_key=key,
        whistle_id=whistle_id,
    )


def _check_own_open_task(session: Session, task: dict) -> None:
    """Only a task of the department's own, neither finished nor withdrawn, takes photos."""
    if task["state"] in ("finished", "withdrawn") or task["department_id"] != whistles.own_department(
        session
    ):
        raise InvalidInputError("只能为本部门在办的任务上传照片", where="whistle_id")


@router.get("/events/{event_id}/whistles", response_model=list[WhistlePublic])
def list_case_tasks(event_id: int, session: SessionDep, user: UserDep) -> list:
    """Every department task of the case, with each answer and whether it came late."""
    return whistles.list_case_tasks(session, event_id, user.area)


@router.get("/events/{event_id}/departments", response_model=list[DepartmentChoicePublic])
def suggest_departments(event_id: int, session: SessionDep, user: UserDep) -> list:
    """Departments to whistle for the case: those taking its category first, each with its open task."""
    return whistles.suggest_departments(session, event_id, user.area)
