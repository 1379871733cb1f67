"""Pydantic I/O models of dispatch: candidates and mediation committees, assigning, workers and their
positions, and the dispatch board."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator, model_validator

from api.schemas_base import (
    CrsName,
    DeadlineProvisional,
    InputModel,
    Lat,
    Lon,
    Note,
    aware_not_future,
    swapped_check,
)


class CandidatePublic(BaseModel):
    """A worker who could take the case, and why they rank where they do."""

    worker_id: int
    name: str
    phone: str
    grid_code: str | None
    distance_m: float
    open_tasks: int
    capacity: int
    tier: int = Field(description="0 本网格, 1 同村, 2 同乡镇, 3 县内")
    skill_match: bool
    located_at: datetime | None
    reasons: list[str]


class MediatorPublic(BaseModel):
    """An on-call mediator."""

    id: int
    name: str
    phone: str


class CommitteePublic(BaseModel):
    """A professional mediation committee that takes the case's category."""

    id: int
    code: str
    name: str
    phone: str | None
    mediators: list[MediatorPublic]


class CandidatesPublic(BaseModel):
    """Ranked candidates for one case."""

    event_id: int
    grid_code: str | None
    candidates: list[CandidatePublic]
    empty_reason: str | None = Field(
        default=None, description="why the list is empty (Chinese); null otherwise"
    )
    mediation_committees: list[CommitteePublic]


class AssignIn(InputModel):
    """Dispatch a case to a worker; `reassign` moves a dispatched case to another worker."""

    worker_id: int = Field(gt=0)
    note: Note = ""
    reassign: bool = False


class LocationIn(InputModel):
    """A worker's position fix."""

    lon: Lon
    lat: Lat
    crs: CrsName = "wgs84"
    at: datetime | None = None

    _swapped = model_validator(mode="before")(swapped_check)

    @field_validator("at")
    @classmethod
    def _at(cls, value: datetime | None) -> datetime | None:
        return aware_not_future(value, "at")


class WorkerUpdate(InputModel):
    """Availability flags; give at least one."""

    on_duty: bool | None = None
    available: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> "WorkerUpdate":
        if self.on_duty is None and self.available is None:
            raise ValueError("须给出 on_duty 或 available")
        return self


class WorkerPublic(BaseModel):
    """A grid worker (WGS84 position)."""

    id: int
    name: str
    phone: str
    grid_code: str | None
    lon: float | None
    lat: float | None
    located_at: datetime | None
    on_duty: bool
    available: bool
    skills: list[str]
    open_tasks: int
    capacity: int
    applied: bool | None = Field(
        default=None, description="location updates: false when an older fix was ignored"
    )


class GridOverduePublic(BaseModel):
    """Overdue cases of one small grid."""

    grid_code: str
    name: str | None
    overdue: int


class QueueItemPublic(BaseModel):
    """An unassigned case on the board."""

    id: int
    kind: str
    category: str
    severity: int
    status: str
    title: str
    grid_code: str | None
    reported_at: datetime
    deadline_at: datetime | None
    deadline_provisional: DeadlineProvisional
    overdue: bool
    escalation_level: str
    lon: float
    lat: float


class WorkerTasksPublic(BaseModel):
    """A worker and their open cases (id, title, status, severity, deadline_at, deadline_provisional)."""

    worker_id: int
    name: str
    grid_code: str | None
    open_tasks: int
    capacity: int
    on_duty: bool
    available: bool
    tasks: list[dict[str, Any]]


class DepartmentRequestsPublic(BaseModel):
    """A department and its unanswered requests."""

    department_id: int
    name: str
    kind: str
    requests: list[dict[str, Any]]


class BoardPublic(BaseModel):
    """The dispatch board."""

    queue: list[QueueItemPublic]
    workers: list[WorkerTasksPublic]
    departments: list[DepartmentRequestsPublic]
    overdue_by_grid: list[GridOverduePublic]
