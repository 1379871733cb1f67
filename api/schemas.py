"""Pydantic I/O models of cases: reporting, the case and its parties, status changes, notes, referral,
extension, pauses and the log.

Inputs are built on api.schemas_base.InputModel (unknown fields and unstorable text refused). Dispatch
(candidates, workers, the board) is in api.schemas_dispatch.
"""

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from api.schemas_base import (
    CrsName,
    DeadlineProvisional,
    InputModel,
    Lat,
    Lon,
    Note,
    Reason,
    Status,
    UncoveredYears,
    aware_not_future,
    swapped_check,
)


class PartyIn(InputModel):
    """A party to a reported case."""

    role: Literal["applicant", "respondent", "reporter", "party"]
    name: str = Field(min_length=1, max_length=50)
    phone: str | None = Field(default=None, pattern=r"^[0-9+\- ]{5,20}$")


class EventCreate(InputModel):
    """A case reported from the field, the hotline or a window."""

    category: str = Field(pattern=r"^[a-z_]{2,40}$", description="category code, e.g. neighbour, fire")
    kind: Literal["dispute", "hazard", "appeal"] | None = None
    severity: int = Field(ge=1, le=4)
    title: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=4000)
    source: Literal["patrol", "walk_in", "hotline", "court", "police", "petition"] = "patrol"
    lon: Lon
    lat: Lat
    crs: CrsName = "wgs84"
    reported_at: datetime | None = None
    parties: list[PartyIn] = Field(default_factory=list, max_length=20)
    wage_owed: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    wage_recovered: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    wage_workers: int | None = Field(default=None, gt=0)

    _swapped = model_validator(mode="before")(swapped_check)

    @field_validator("reported_at")
    @classmethod
    def _reported_at(cls, value: datetime | None) -> datetime | None:
        return aware_not_future(value, "reported_at")

    @model_validator(mode="after")
    def _wages_only_for_labour(self) -> "EventCreate":
        has_wages = any(v is not None for v in (self.wage_owed, self.wage_recovered, self.wage_workers))
        if has_wages and self.category != "labour_wages":
            raise ValueError("欠薪字段（wage_*）只适用于 labour_wages 类别")
        if self.wage_recovered is not None and self.wage_recovered > (self.wage_owed or 0):
            raise ValueError("wage_recovered 不能大于 wage_owed")
        return self


class PartyPublic(BaseModel):
    """A party of a case; name, phone and ID number are masked for roles without clearance."""

    id: int
    role: str
    name: str
    phone: str | None
    id_number: str | None


class EventPublic(BaseModel):
    """A case as the API shows it (WGS84 lon/lat)."""

    id: int
    kind: str
    category: str
    severity: int
    status: str
    title: str
    description: str
    source: str
    reported_at: datetime
    closed_at: datetime | None
    lon: float
    lat: float
    grid_code: str | None
    assignee_id: int | None
    escalation_level: str
    referral: str | None
    referral_status: str | None
    deadline_at: datetime | None
    deadline_provisional: DeadlineProvisional
    deadline_uncovered_years: UncoveredYears
    suspended_at: datetime | None
    suspended_total: timedelta
    handled_by: str | None
    duplicate_of: int | None
    updated_at: datetime
    # 超期 at the server's clock (geo.queries.figures.overdue_at); null where a list does not count it.
    overdue: bool | None = None


class DuplicatePublic(BaseModel):
    """A possible duplicate: same category, close in space and time."""

    id: int
    title: str
    status: str
    reported_at: datetime
    grid_code: str | None
    distance_m: float


class EventReported(EventPublic):
    """The reported case with its possible duplicates."""

    possible_duplicates: list[DuplicatePublic]


class TransitionIn(InputModel):
    """Move a case to another status; decline, reject and rework need a note."""

    to: Status
    note: Note = ""
    duplicate_of: int | None = Field(default=None, gt=0)


class NoteIn(InputModel):
    """An optional note."""

    note: Note = ""


class ReferIn(InputModel):
    """Refer a case to the court, police or petition office, or take it back (`action: return`)."""

    action: Literal["refer", "return"] = "refer"
    to: Literal["court", "police", "petition"] | None = None
    note: Note = ""

    @model_validator(mode="after")
    def _target(self) -> "ReferIn":
        if self.action == "refer" and self.to is None:
            raise ValueError("移交须给出 to：court、police 或 petition")
        return self


class ExtendIn(InputModel):
    """延期: extend the deadline by clock hours or working days, with a reason."""

    hours: float | None = Field(default=None, gt=0, le=720, allow_inf_nan=False)
    days: int | None = Field(default=None, ge=1, le=60)
    reason: Reason

    @model_validator(mode="after")
    def _one_amount(self) -> "ExtendIn":
        if (self.hours is None) == (self.days is None):
            raise ValueError("延期须给出 hours 或 days 之一")
        return self


class ReasonIn(InputModel):
    """A required reason (挂账)."""

    reason: Reason


class LogEntryPublic(BaseModel):
    """One change of a case; `worker` and `previous_worker` name the workers its data points at
    (masked for roles without clearance)."""

    id: int
    at: datetime
    actor: str
    action: str
    from_status: str | None
    to_status: str | None
    note: str
    data: dict[str, Any]
    worker: str | None = None
    previous_worker: str | None = None
