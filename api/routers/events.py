"""Cases: report (with Idempotency-Key), read, candidates, assign, and every lifecycle action."""

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response, status
from starlette.datastructures import QueryParams
from starlette.routing import Match, Route
from starlette.types import Scope

from api.deps import CheckedQueryDep, SessionDep, UserDep, get_checked_query, get_current_user
from api.deps_dispatch import DispatchDep, get_dispatch
from api.permissions import (
    VERIFY_STATUSES,
    AssignUser,
    DeadlineUser,
    EscalateUser,
    ReferUser,
    ReportUser,
    TransitionUser,
    WhistleUser,
    check,
)
from api.schemas import (
    AssignIn,
    CandidatesPublic,
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
    WhistleIn,
    WhistlePublic,
)
from geo import audit
from geo.privacy import mask_row
from geo.queries import casework, dispatch, events
from geo.queries.parties import list_parties

router = APIRouter(prefix="/api/events", tags=["events"])
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=EventReported)
def report_event(
    body: EventCreate,
    session: SessionDep,
    user: ReportUser,
    settings: DispatchDep,
    response: Response,
    key: IdempotencyKey = None,
) -> dict:
    """Report a case. Resending with the same Idempotency-Key returns the same case (200, not 201)."""
    result = events.report_event(
        session,
        body.model_dump(mode="json"),
        area=user.area,
        actor=user.name,
        key=key,
        duplicate_radius_m=settings.duplicate_radius_m,
        duplicate_window_h=settings.duplicate_window_h,
    )
    session.commit()
    if not result.created:
        response.status_code = status.HTTP_200_OK
    return {**result.event, "possible_duplicates": result.duplicates}


@router.get("/overdue", response_model=list[EventPublic])
def list_overdue(
    session: SessionDep, user: UserDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list:
    """Open cases past their deadline (超期), longest overdue first."""
    return events.list_overdue(session, user.area, limit)


@router.get("/due-soon", response_model=list[EventPublic])
def list_due_soon(
    session: SessionDep,
    user: UserDep,
    settings: DispatchDep,
    hours: Annotated[float | None, Query(gt=0, le=720)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list:
    """Open cases due within the next hours (临期), soonest first."""
    return events.list_due_soon(session, user.area, hours or settings.near_deadline_h, limit)


@router.get("/{event_id}", response_model=EventPublic)
def get_event(event_id: int, session: SessionDep, user: UserDep) -> dict:
    """One case."""
    return events.get_event(session, event_id, user.area)


@router.get("/{event_id}/timeline", response_model=list[LogEntryPublic])
def get_timeline(event_id: int, session: SessionDep, user: UserDep) -> list:
    """Every change of the case, oldest first: who, when, from which status to which, and why."""
    return events.get_timeline(session, event_id, user.area)


@router.get("/{event_id}/candidates", response_model=CandidatesPublic)
async def list_candidates(
    event_id: int,
    query: CheckedQueryDep,
    settings: DispatchDep,
    k: Annotated[int | None, Query(ge=1, le=50)] = None,
) -> Response:
    """Workers to dispatch to, the owning grid's worker first, then nearest in village, township, county.

    Names and phones are masked for roles without clearance; cleared reads are audited. One round
    trip: the statement checks the account, ranks, masks, writes the audit row and builds the JSON
    answer, which is sent as PostgreSQL wrote it (its shape is tested against CandidatesPublic).
    """
    user = query.user
    stmt, params = dispatch.candidates_query(
        event_id,
        area=user.area,
        k=k or settings.default_candidates,
        max_age_s=settings.max_position_age_s,
        scope=settings.candidate_scope,
        audit_actor=user.name if user.cleared else None,
    )
    answer = dispatch.candidates_answer(event_id, await query.one(stmt, params))
    return Response(answer, media_type="application/json")


class CandidatesFastRoute(Route):
    """GET /api/events/{id}/candidates served ahead of FastAPI's routes, without its request handling.

    FastAPI's handling of a request (matching it through the included routers, solving dependencies,
    validating parameters, its middleware) cost this route ~0.3 ms of server CPU and wall time per
    request here: a tenth of the dispatch path's 3 ms budget. This route calls `list_candidates` and
    its dependencies directly, as FastAPI would. It steps aside, and FastAPI serves `list_candidates`
    as declared (and documented), whenever FastAPI has to decide: for a `k` that is not plainly 1-50
    (FastAPI answers 422) and while any dependency is overridden (FastAPI's overrides apply to every
    route, so they are honoured here too).
    """

    def __init__(self) -> None:
        """The route, with Starlette's int convertor for the id (anything else goes to FastAPI)."""
        super().__init__("/api/events/{event_id:int}/candidates", _serve_candidates, methods=["GET"])
        self.methods.discard("HEAD")  # Starlette adds it to GET routes; FastAPI's answers it 405

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """Starlette's match, unless FastAPI has to decide (see the class doc)."""
        match, child = super().matches(scope)
        if match is Match.FULL and (scope["app"].dependency_overrides or not _plain_k(scope)):
            return Match.NONE, {}
        return match, child


def _plain_k(scope: Scope) -> bool:
    """True unless `k` is given as anything but a plain 1..50 (the last one counts, as in FastAPI)."""
    k = QueryParams(scope.get("query_string", b"")).get("k")
    return k is None or (k.isascii() and k.isdigit() and 1 <= int(k) <= 50)


async def _serve_candidates(request: Request) -> Response:
    """list_candidates with its dependencies called directly, as FastAPI would call them."""
    user = await get_current_user(request)
    k = request.query_params.get("k")
    return await list_candidates(
        request.path_params["event_id"],
        await get_checked_query(request, user),
        await get_dispatch(),
        int(k) if k is not None else None,
    )


@router.get("/{event_id}/parties", response_model=list[PartyPublic])
def get_parties(event_id: int, session: SessionDep, user: UserDep) -> list:
    """The parties of a case (申请人、被申请人、反映人): masked for roles without clearance; reads audited."""
    parties = list_parties(session, event_id, user.area)
    if not user.cleared:
        return [mask_row(p) for p in parties]
    audit.record_read(
        session,
        user.name,
        table="parties",
        target=event_id,
        detail={"what": "parties", "event_id": event_id, "party_ids": [p["id"] for p in parties]},
    )
    session.commit()
    return parties


@router.post("/{event_id}/assign", response_model=EventPublic)
def assign_event(event_id: int, body: AssignIn, session: SessionDep, user: AssignUser) -> dict:
    """Dispatch the case to a worker; 409 if it was dispatched meanwhile or the worker is full."""
    event = dispatch.assign_event(
        session,
        event_id,
        body.worker_id,
        area=user.area,
        actor=user.name,
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
        actor=user.name,
        note=body.note,
        duplicate_of=body.duplicate_of,
    )
    session.commit()
    return event


@router.post("/{event_id}/escalate", response_model=EventPublic)
def escalate_event(event_id: int, body: NoteIn, session: SessionDep, user: EscalateUser) -> dict:
    """Raise the case one level: grid → village → township → county (409 at the county)."""
    event = casework.escalate_event(session, event_id, area=user.area, actor=user.name, note=body.note)
    session.commit()
    return event


@router.post("/{event_id}/refer", response_model=EventPublic)
def refer_event(event_id: int, body: ReferIn, session: SessionDep, user: ReferUser) -> dict:
    """Refer the case to the court, police or petition office (诉调/警调/访调), or take it back."""
    if body.action == "return":
        event = casework.return_referral(session, event_id, area=user.area, actor=user.name, note=body.note)
    else:
        event = casework.refer_event(
            session, event_id, body.to or "", area=user.area, actor=user.name, note=body.note
        )
    session.commit()
    return event


@router.post("/{event_id}/whistle", status_code=status.HTTP_201_CREATED, response_model=WhistlePublic)
def request_whistle(
    event_id: int, body: WhistleIn, session: SessionDep, user: WhistleUser, settings: DispatchDep
) -> dict:
    """Ask a department to report on the case (吹哨报到) within a number of hours."""
    whistle = casework.request_whistle(
        session,
        event_id,
        body.department_id,
        body.respond_within_hours or settings.default_whistle_hours,
        area=user.area,
        actor=user.name,
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
        actor=user.name,
        reason=body.reason,
        hours=body.hours,
        days=body.days,
    )
    session.commit()
    return event


@router.post("/{event_id}/suspend", response_model=EventPublic)
def suspend_event(event_id: int, body: ReasonIn, session: SessionDep, user: DeadlineUser) -> dict:
    """挂账: stop the case's clock, with a reason."""
    event = casework.suspend_event(session, event_id, area=user.area, actor=user.name, reason=body.reason)
    session.commit()
    return event


@router.post("/{event_id}/resume", response_model=EventPublic)
def resume_event(event_id: int, body: NoteIn, session: SessionDep, user: DeadlineUser) -> dict:
    """End 挂账: the clock runs again and the deadline moves by the paused time."""
    event = casework.resume_event(session, event_id, area=user.area, actor=user.name, note=body.note)
    session.commit()
    return event
