"""Pydantic I/O models of the case and dispatch API.

Inputs refuse unknown fields (`extra="forbid"`), NaN and infinities, coordinates out of range, and text
we cannot store (control characters, lone surrogates: geo.io.text) in any field. lon/lat come in WGS84
unless `crs` says gcj02 (Gaode, Tencent, WeChat) or bd09 (Baidu). Outputs are always WGS84.
"""

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from geo import clock
from geo.io.text import unstorable_reason
from geo.models import EVENT_STATUSES

Lon = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False, description="经度 longitude")]
Lat = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False, description="纬度 latitude")]
CrsName = Literal["wgs84", "gcj02", "bd09"]
Note = Annotated[str, Field(default="", max_length=2000)]
Reason = Annotated[str, Field(min_length=1, max_length=2000)]
# The statuses are the database's (geo.models), listed once.
Status = Literal[EVENT_STATUSES]  # type: ignore[valid-type]
# 暂定期限: a deadline counted through a year that no holiday calendar covers yet (weekends only there).
DeadlineProvisional = Annotated[
    bool,
    Field(
        default=False,
        description="暂定期限：计算时限时涉及尚无节假日安排的年份（只按周末计算）；导入该年日历后自动重算。"
        " True when the deadline counted through a year with no holiday calendar yet (weekends only);"
        " it is recomputed when that year is imported (gridgov calendar import).",
    ),
]
UncoveredYears = Annotated[
    list[int],
    Field(
        default_factory=list,
        description="尚无节假日安排、只按周末计算的年份，如 [2027]；空表示期限已按正式日历计算。"
        " The years the deadline counted with weekends only; empty when it is final.",
    ),
]


def _unstorable(value: Any, loc: tuple[str | int, ...]) -> list[InitErrorDetails]:
    """An error for every string in the raw input (nested dicts and lists too) that we cannot store."""
    if isinstance(value, str):
        reason = unstorable_reason(value)
        error = PydanticCustomError("unstorable_text", reason) if reason else None
        return [InitErrorDetails(type=error, loc=loc, input=value)] if error else []
    if isinstance(value, dict):
        return [e for k, v in value.items() for e in _unstorable(v, (*loc, str(k)))]
    if isinstance(value, list | tuple):
        return [e for i, v in enumerate(value) for e in _unstorable(v, (*loc, i))]
    return []


class _In(BaseModel):
    """Base of every input model: unknown fields refused, and text we cannot store refused in any field.

    The text check looks at the raw input before any field is parsed, so it holds for every field of
    every subclass whatever its type (free text, codes, Literal choices, datetimes given as strings),
    before whitespace is stripped, and names the exact place (`loc`), nested models and lists included.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _storable_text(cls, data: Any) -> Any:
        if errors := _unstorable(data, ()):
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return data


def _swapped_check(data: Any) -> Any:
    """Say "swapped" rather than "latitude out of range" when lon and lat look exchanged."""
    if isinstance(data, dict):
        lon, lat = data.get("lon"), data.get("lat")
        if isinstance(lon, int | float) and isinstance(lat, int | float) and abs(lat) > 90 >= abs(lon):
            raise ValueError(
                f"经纬度疑似颠倒：lat {lat} 超出 -90..90，而 lon {lon} 像是纬度；请按 lon, lat 顺序提交"
            )
    return data


def _aware_not_future(value: datetime | None, field: str) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"{field} 须带时区，如 2026-11-27T09:30:00+08:00")
    if value > clock.now() + timedelta(minutes=5):
        raise ValueError(f"{field} 不能晚于当前时间")
    return value


class PartyIn(_In):
    """A party to a reported case."""

    role: Literal["applicant", "respondent", "reporter", "party"]
    name: str = Field(min_length=1, max_length=50)
    phone: str | None = Field(default=None, pattern=r"^[0-9+\- ]{5,20}$")


class EventCreate(_In):
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

    _swapped = model_validator(mode="before")(_swapped_check)

    @field_validator("reported_at")
    @classmethod
    def _reported_at(cls, value: datetime | None) -> datetime | None:
        return _aware_not_future(value, "reported_at")

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


class AssignIn(_In):
    """Dispatch a case to a worker; `reassign` moves a dispatched case to another worker."""

    worker_id: int = Field(gt=0)
    note: Note = ""
    reassign: bool = False


class TransitionIn(_In):
    """Move a case to another status; decline, reject and rework need a note."""

    to: Status
    note: Note = ""
    duplicate_of: int | None = Field(default=None, gt=0)


class NoteIn(_In):
    """An optional note."""

    note: Note = ""


class ReferIn(_In):
    """Refer a case to the court, police or petition office, or take it back (`action: return`)."""

    action: Literal["refer", "return"] = "refer"
    to: Literal["court", "police", "petition"] | None = None
    note: Note = ""

    @model_validator(mode="after")
    def _target(self) -> "ReferIn":
        if self.action == "refer" and self.to is None:
            raise ValueError("移交须给出 to：court、police 或 petition")
        return self


class ExtendIn(_In):
    """延期: extend the deadline by clock hours or working days, with a reason."""

    hours: float | None = Field(default=None, gt=0, le=720, allow_inf_nan=False)
    days: int | None = Field(default=None, ge=1, le=60)
    reason: Reason

    @model_validator(mode="after")
    def _one_amount(self) -> "ExtendIn":
        if (self.hours is None) == (self.days is None):
            raise ValueError("延期须给出 hours 或 days 之一")
        return self


class ReasonIn(_In):
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


class LocationIn(_In):
    """A worker's position fix."""

    lon: Lon
    lat: Lat
    crs: CrsName = "wgs84"
    at: datetime | None = None

    _swapped = model_validator(mode="before")(_swapped_check)

    @field_validator("at")
    @classmethod
    def _at(cls, value: datetime | None) -> datetime | None:
        return _aware_not_future(value, "at")


class WorkerUpdate(_In):
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
