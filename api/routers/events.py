"""Cases: report (with Idempotency-Key), read, candidates, assign, and every lifecycle action."""

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status
from sqlalchemy.orm import Session

from api.deps import CurrentUser, SessionDep, SettingsDep, UserDep
from api.permissions import (
    AssignUser,
    DeadlineUser,
    EscalateUser,
    ReferUser,
    ReportUser,
    TransitionUser,
    WhistleUser,
    actor,
    check,
)
from api.routing import ReadRoute
from api.schemas import (
    EventCreate,
    EventPublic,
    EventReported,
    ExtendIn,
    LogEntryPublic,
    NoteIn,
    PartyPublic,
    ReasonIn,
    ReferIn,
    TransitionIn,
)
from api.schemas_desk import WhistleIn, WhistlePublic
from api.schemas_dispatch import AssignIn, CandidatesPublic
from api.settings import Settings
from geo.accounts import VERIFY_STATUSES
from geo.queries import casework, dispatch, events, overdue, reporting, timeline, whistles
from geo.queries.parties import list_parties
from geo.settings import DispatchSettings

router = APIRouter(route_class=ReadRoute, prefix="/api/events", tags=["events"])
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=EventReported)
def report_event(
    body: EventCreate,
    session: SessionDep,
    user: ReportUser,
    settings: SettingsDep,
    response: Response,
    key: IdempotencyKey = None,
) -> dict:
    """Report a case. Resending with the same Idempotency-Key returns the same case (200, not 201)."""
    result = _report(session, body, user, settings, key)
    session.commit()
    if not result.created:
        response.status_code = status.HTTP_200_OK
    return {**result.event, "possible_duplicates": result.duplicates}


def _report(
    session: Session, body: EventCreate, user: CurrentUser, settings: Settings, key: str | None
) -> reporting.ReportResult:
    """Store the case (or find the one reported with `key`), with the duplicates near it in place and time."""
    return reporting.report_event(
        session,
        body.model_dump(mode="json"),
        area=user.area,
        actor=user.name,
        key=key,
        duplicate_radius_m=settings.dispatch.duplicate_radius_m,
        duplicate_window_h=settings.dispatch.duplicate_window_h,
        reporter_worker_id=user.worker_id if user.role == "grid_worker" else None,
    )


@router.get("/overdue", response_model=list[EventPublic])
def list_overdue(
    session: SessionDep, user: UserDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list:
    """Open cases past their deadline (超期), longest overdue first."""
    return overdue.list_overdue(session, user.area, limit)


@router.get("/due-soon", response_model=list[EventPublic])
def list_due_soon(
    session: SessionDep,
    user: UserDep,
    settings: SettingsDep,
    hours: Annotated[float | None, Query(gt=0, le=720)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list:
    """Open cases due within the next hours (临期), soonest first."""
    return overdue.list_due_soon(session, user.area, hours or settings.dispatch.near_deadline_h, limit)


@router.get("/{event_id}", response_model=EventPublic)
def get_event(event_id: int, session: SessionDep, user: UserDep) -> dict:
    """One case."""
    return events.get_event(session, event_id, user.area)


@router.get("/{event_id}/timeline", response_model=list[LogEntryPublic])
def get_timeline(event_id: int, session: SessionDep, user: UserDep) -> list:
    """Every change of the case, oldest first: who, when, from which status to which, and why."""
    return timeline.get_timeline(session, event_id, user.area)


@router.get("/{event_id}/candidates", response_model=CandidatesPublic)
def list_candidates(
    event_id: int,
    session: SessionDep,
    user: UserDep,
    settings: SettingsDep,
    k: Annotated[int | None, Query(ge=1, le=50)] = None,
) -> Response:
    """Workers to dispatch to, the owning grid's worker first, then nearest in village, township, county.

    Names and phones are masked for roles without clearance; cleared reads are audited. The statement
    ranks, masks and builds the JSON answer, sent as PostgreSQL wrote it (its shape is tested against
    CandidatesPublic).
    """
    answer = _candidates_json(session, event_id, user.area, settings.dispatch, k)
    return Response(answer, media_type="application/json")


def _candidates_json(session: Session, event_id: int, area: str, d: DispatchSettings, k: int | None) -> str:
    """The candidates' JSON with the dispatch settings' count (unless `k`), position age and scope."""
    return dispatch.candidates_json(
        session,
        event_id,
        area=area,
        k=k or d.default_candidates,
        max_age_s=d.max_position_age_s,
        scope=d.candidate_scope,
    )


@router.get("/{event_id}/parties", response_model=list[PartyPublic])
def get_parties(event_id: int, session: SessionDep, user: UserDep) -> list:
    """The parties of a case (申请人、被申请人、反映人): masked for roles without clearance; reads audited."""
    return list_parties(session, event_id, user.area)


@router.post("/{event_id}/assign", response_model=EventPublic)
def assign_event(event_id: int, body: AssignIn, session: SessionDep, user: AssignUser) -> dict:
    """Dispatch the case to a worker; 409 if it was dispatched meanwhile or the worker is full."""
    event = dispatch.assign_event(
        session,
        event_id,
        body.worker_id,
        area=user.area,
        actor=actor(user),
        note=body.note,
        reassign=body.reassign,
    )
    session.commit()
    return event


@router.post("/{event_id}/transition", response_model=EventPublic)
def transition_event(event_id: int, body: TransitionIn, session: SessionDep, user: TransitionUser) -> dict:
    """Move the case along its lifecycle; an illegal move is 409 with the allowed next statuses."""
    if body.to in VERIFY_STATUSES:
        check(user, "verify")
    event = casework.transition_event(
        session,
        event_id,
        body.to,
        area=user.area,
        actor=actor(user),
        note=body.note,
        duplicate_of=body.duplicate_of,
    )
    session.commit()
    return event


@router.post("/{event_id}/escalate", response_model=EventPublic)
def escalate_event(event_id: int, body: NoteIn, session: SessionDep, user: EscalateUser) -> dict:
    """Raise the case one level: grid → village → township → county (409 at the county)."""
    event = casework.escalate_event(session, event_id, area=user.area, actor=actor(user), note=body.note)
    session.commit()
    return event


@router.post("/{event_id}/refer", response_model=EventPublic)
def refer_event(
    event_id: int, body: ReferIn, session: SessionDep, user: ReferUser, settings: SettingsDep
) -> dict:
    """Refer the case to the court, police or petition office (诉调/警调/访调), whose department gets a
    task, or take it back (`action: return`, which withdraws that task)."""
    if body.action == "return":
        event = casework.return_referral(session, event_id, area=user.area, actor=actor(user), note=body.note)
    else:
        event = _refer(session, event_id, body, user, settings.dispatch)
    session.commit()
    return event


def _refer(session: Session, event_id: int, body: ReferIn, user: CurrentUser, d: DispatchSettings) -> dict:
    """Refer the case, its department's task due within the default whistle and feedback hours."""
    return casework.refer_event(
        session,
        event_id,
        body.to or "",
        area=user.area,
        actor=actor(user),
        note=body.note,
        hours=d.default_whistle_hours,
        feedback_hours=d.default_feedback_hours,
    )


@router.post("/{event_id}/whistle", status_code=status.HTTP_201_CREATED, response_model=WhistlePublic)
def request_whistle(
    event_id: int, body: WhistleIn, session: SessionDep, user: WhistleUser, settings: SettingsDep
) -> dict:
    """Ask a department to report on the case (吹哨报到) within a number of hours and report back within
    more; 409 when the department already has an open task on the case."""
    d = settings.dispatch
    whistle = whistles.request_whistle(
        session,
        event_id,
        body.department_id,
        hours=body.respond_within_hours or d.default_whistle_hours,
        feedback_hours=body.feedback_within_hours or d.default_feedback_hours,
        area=user.area,
        actor=actor(user),
        note=body.note,
    )
    session.commit()
    return whistle


@router.post("/{event_id}/extend", response_model=EventPublic)
def extend_deadline(event_id: int, body: ExtendIn, session: SessionDep, user: DeadlineUser) -> dict:
    """延期: extend the deadline by hours or working days, with a reason."""
    event = casework.extend_deadline(
        session,
        event_id,
        area=user.area,
        actor=actor(user),
        reason=body.reason,
        hours=body.hours,
        days=body.days,
    )
    session.commit()
    return event


@router.post("/{event_id}/suspend", response_model=EventPublic)
def suspend_event(event_id: int, body: ReasonIn, session: SessionDep, user: DeadlineUser) -> dict:
    """挂账: stop the case's clock, with a reason."""
    event = casework.suspend_event(session, event_id, area=user.area, actor=actor(user), reason=body.reason)
    session.commit()
    return event


@router.post("/{event_id}/resume", response_model=EventPublic)
def resume_event(event_id: int, body: NoteIn, session: SessionDep, user: DeadlineUser) -> dict:
    """End 挂账: the clock runs again and the deadline moves by the paused time."""
    event = casework.resume_event(session, event_id, area=user.area, actor=actor(user), note=body.note)
    session.commit()
    return event
