"""Pydantic I/O models of the desks: case lists, the steps a case offers, departments' tasks.

Inputs follow api.schemas_base (`InputModel`: unknown fields and unstorable text refused).
"""

from datetime import datetime

from pydantic import BaseModel, Field

from api.schemas_base import DeadlineProvisional, InputModel, Note, Reason


class CaseItemPublic(BaseModel):
    """A case in a desk list (WGS84 lon/lat); `overdue` at the server's clock."""

    id: int
    kind: str
    category: str
    severity: int
    status: str
    title: str
    grid_code: str | None
    township: str | None
    reported_at: datetime
    deadline_at: datetime | None
    deadline_provisional: DeadlineProvisional
    overdue: bool
    suspended_at: datetime | None
    referral: str | None
    referral_status: str | None
    escalation_level: str
    assignee_id: int | None
    lon: float
    lat: float


class CasePagePublic(BaseModel):
    """One page of a case list and how many cases the whole list holds."""

    total: int
    page: int
    per_page: int
    pages: int
    items: list[CaseItemPublic]


class StepPublic(BaseModel):
    """A step the desk may offer on a case now (geo.lifecycle.desk_steps)."""

    action: str = Field(description="timeline action, e.g. register, assign, verify, refer, whistle")
    label: str
    needs: str = Field(description="what the person gives: reason, worker, department, referral, amount, …")
    blocked: str = Field(
        description="why this person cannot take it now (shown, refused); empty when allowed"
    )


class DepartmentChoicePublic(BaseModel):
    """A department the case can be whistled to; `suggested` when it takes the case's category."""

    id: int
    code: str
    name: str
    kind: str
    suggested: bool
    open_task_id: int | None


class WhistleIn(InputModel):
    """Ask a department to report (吹哨) within a number of hours, and to report back within more."""

    department_id: int = Field(gt=0)
    respond_within_hours: int | None = Field(default=None, ge=1, le=720)
    feedback_within_hours: int | None = Field(default=None, ge=1, le=2160)
    note: Note = ""


class TaskTextIn(InputModel):
    """A department's answer (报到) or its report back when done (办结反馈)."""

    text: Reason


class WhistlePublic(BaseModel):
    """A department's task on a case (吹哨 or 移交), its steps, its state and whether each came late."""

    id: int
    event_id: int
    department_id: int
    department: str
    department_kind: str
    kind: str
    note: str
    requested_by: str
    requested_at: datetime
    respond_by: datetime
    finish_by: datetime
    signed_at: datetime | None
    signed_by: str | None
    responded_at: datetime | None
    responded_by: str | None
    response: str | None
    finished_at: datetime | None
    finished_by: str | None
    feedback: str | None
    withdrawn_at: datetime | None
    state: str
    report_late: bool
    feedback_late: bool
    title: str
    event_kind: str
    category: str
    severity: int
    event_status: str
    grid_code: str | None
    lon: float
    lat: float
    reported_at: datetime
