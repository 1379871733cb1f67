"""Dispatch: candidate workers for a case, assignment that is safe under concurrency, the dispatch board.

Candidates are one statement (geo/sql/candidates.sql): a UNION of a few small scans - the owning small
grid's responsible worker and the village's workers (however old their last fix: an old fix lowers
the rank, it never drops the owner); the nearest (with and without the skill) of the township; the
nearest in the policy scope, a KNN walk - ranked in SQL by tier (属地: the owning grid first),
freshness, skill, load and distance in metres.
Assignment is two conditional UPDATEs in one transaction: the case must still be assignable and the
worker must still have capacity, so of twenty dispatchers racing, one wins and nineteen get 409.
"""

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import Text

from geo import clock, lifecycle, sql
from geo.deadlines import Deadline
from geo.errors import ConflictError, NotFoundError, OutsideCountyError, TransitionError
from geo.lifecycle import Actor
from geo.queries import figures
from geo.queries.area import area_range, in_area
from geo.queries.events import get_event, lock_event, log_step
from geo.queries.overdue import count_overdue_by_grid
from geo.queries.timelimits import deadline_columns, deadline_for

TIER_REASONS = ("本网格责任网格员", "同村（社区）", "同乡镇（街道）", "县内就近")
SCOPE_DIGITS = {"village": 12, "township": 9, "county": 6}
CANDIDATES = sql.load("candidates").bindparams(bindparam("tier_reasons", type_=ARRAY(Text)))


def candidates_params(event_id: int, *, area: str, k: int, max_age_s: int, scope: str) -> dict[str, Any]:
    """The parameters of the CANDIDATES statement (geo/sql/candidates.sql) at the clock's instant."""
    bounds = area_range(area)
    now = clock.now()
    return {
        "id": event_id,
        "area_lo": bounds["lo"],
        "area_hi": bounds["hi"],
        "k": k,
        "scope_digits": SCOPE_DIGITS[scope],
        "fresh_after": now - timedelta(seconds=max_age_s),
        "now": now,
        "tier_reasons": list(TIER_REASONS),
    }


def candidates_json(
    session: Session,
    event_id: int,
    *,
    area: str,
    k: int,
    max_age_s: int,
    scope: str = "county",
) -> str:
    """The ranked candidates of a case as JSON text (geo/sql/candidates.sql; names and phones masked for
    uncleared roles, an unmasked read noted for the audit). NotFoundError outside the area."""
    params = candidates_params(event_id, area=area, k=k, max_age_s=max_age_s, scope=scope)
    row = session.execute(CANDIDATES, params).first()
    if row is None:
        raise NotFoundError(f"案件 {event_id} 不存在", where="event_id")
    return str(row[0])


def list_candidates(
    session: Session, event_id: int, *, area: str, k: int, max_age_s: int, scope: str = "county"
) -> dict[str, Any]:
    """Ranked candidate workers for a case and, for disputes, the matching mediation committees."""
    return json.loads(candidates_json(session, event_id, area=area, k=k, max_age_s=max_age_s, scope=scope))


def adjust_open_tasks(session: Session, worker_id: int, delta: int) -> None:
    """Move a worker's open-task count by delta; adding needs free capacity (ConflictError otherwise)."""
    if delta > 0:
        done = session.execute(
            text(
                "UPDATE workers SET open_tasks = open_tasks + 1 WHERE id = :w AND open_tasks < capacity "
                "RETURNING id"
            ),
            {"w": worker_id},
        ).first()
        if done is None:
            raise ConflictError(f"网格员 {worker_id} 已满负荷，请改派", where="worker_id")
    elif delta < 0:
        session.execute(
            text("UPDATE workers SET open_tasks = greatest(open_tasks - 1, 0) WHERE id = :w"),
            {"w": worker_id},
        )


# The worker takes the case only if, at this instant, they are available, on duty and below capacity.
_TAKE = text("""
UPDATE workers SET open_tasks = open_tasks + 1
WHERE id = :w AND open_tasks < capacity AND available AND on_duty
  AND home_grid_code ~>=~ :lo AND home_grid_code ~<~ :hi
RETURNING id
""")


def _take_worker(session: Session, worker_id: int, area: str) -> None:
    if session.execute(_TAKE, {"w": worker_id, **area_range(area)}).first() is not None:
        return
    worker = find_worker(session, worker_id, area)
    if worker is None:
        raise NotFoundError(f"网格员 {worker_id} 不存在", where="worker_id")
    state = "不在岗" if not worker["on_duty"] else "不可派" if not worker["available"] else "已满负荷"
    raise ConflictError(f"网格员 {worker['name']}（{worker_id}）{state}，请选择其他人员", where="worker_id")


def _move_task(session: Session, old: int | None, new: int, area: str, status: str) -> None:
    """Give the new worker the task and take it from the old one, locking worker rows in id order
    so that two crossed reassignments cannot deadlock."""
    if old is not None and old < new:
        adjust_open_tasks(session, old, lifecycle.task_delta(status, "registered"))
    _take_worker(session, new, area)
    if old is not None and old > new:
        adjust_open_tasks(session, old, lifecycle.task_delta(status, "registered"))


# Lock the case first: racing dispatchers queue here and then see the winner's status.
# A case without a deadline gets one (with its basis); one that has a deadline keeps it.
_ASSIGN = text("""
UPDATE events SET assignee_id = :w, status = 'dispatched', deadline_at = coalesce(deadline_at, :deadline_at),
    deadline_basis = CASE WHEN deadline_at IS NULL
        THEN CAST(:deadline_basis AS jsonb) ELSE deadline_basis END,
    deadline_uncovered_years = CASE WHEN deadline_at IS NULL
        THEN CAST(:deadline_uncovered_years AS smallint[]) ELSE deadline_uncovered_years END
WHERE id = :id AND status = ANY(:from_statuses) RETURNING id
""")


def assign_event(
    session: Session,
    event_id: int,
    worker_id: int,
    *,
    area: str,
    actor: Actor,
    note: str = "",
    reassign: bool = False,
) -> dict[str, Any]:
    """Dispatch a case to a worker (or re-dispatch it with `reassign`); 409 if someone was faster."""
    ev = lock_event(session, event_id, area)
    step = "reassign" if reassign else "assign"
    allowed = _check_assignable(ev, step, actor, worker_id)
    deadline = None if ev.deadline_at else deadline_for(session, ev.category, ev.severity, clock.now())
    _set_assignee(session, event_id, worker_id, deadline, allowed)
    _move_task(session, ev.assignee_id if reassign else None, worker_id, area, ev.status)
    data = _assignment_data(ev, worker_id, deadline)
    log_step(session, ev, actor.name, step, to_status="dispatched", note=note, data=data)
    return get_event(session, event_id, area)


def _check_assignable(ev: Any, step: str, actor: Actor, worker_id: int) -> frozenset[str]:
    """The statuses the step may start from, once the actor may take it and the case may go to the worker."""
    reassign = step == "reassign"
    lifecycle.check_step(step, actor, assignee_id=ev.assignee_id, suspended=ev.suspended_at is not None)
    allowed = lifecycle.REASSIGNABLE if reassign else lifecycle.ASSIGNABLE
    if ev.status not in allowed:
        raise _status_refusal(ev.status, reassign)
    if ev.referral_status == "referred":
        raise ConflictError(
            f"案件已移交{lifecycle.REFERRALS[ev.referral]}，收回后才能派遣", where="referral_status"
        )
    if reassign and ev.assignee_id == worker_id:
        raise ConflictError("案件已派给该网格员", where="worker_id")
    return allowed


def _status_refusal(status: str, reassign: bool) -> TransitionError:
    """Why a case in this status cannot be dispatched (or re-dispatched), with where it can go instead."""
    what = (
        "改派（只有已派遣或处置中的案件可以改派）" if reassign else "派遣（已派遣的案件请用 reassign 改派）"
    )
    return TransitionError(
        f"案件状态为“{lifecycle.STATUS_LABELS[status]}”({status})，不能{what}",
        allowed=lifecycle.allowed_next(status),
        where="status",
    )


def _set_assignee(
    session: Session, event_id: int, worker_id: int, deadline: Deadline | None, allowed: frozenset[str]
) -> None:
    """Give the case to the worker unless its status changed meanwhile (ConflictError: someone was faster)."""
    params = {"w": worker_id, "id": event_id, **deadline_columns(deadline), "from_statuses": list(allowed)}
    if session.execute(_ASSIGN, params).first() is None:
        raise ConflictError("案件状态已变化，请刷新后重试", where="status")


def _assignment_data(ev: Any, worker_id: int, deadline: Deadline | None) -> dict[str, Any]:
    """What the timeline keeps of a dispatch: both workers and the deadline the case got, if it got one."""
    return {
        "worker_id": worker_id,
        "previous_worker_id": ev.assignee_id,
        "deadline_at": deadline and deadline.at,
        "deadline_uncovered_years": sorted(deadline.uncovered) if deadline else [],
    }


_WORKER_COLUMNS = (
    # A grid worker reads their own row as it is; others' names and phones are masked for uncleared roles.
    "w.id, CASE WHEN w.id = gridgov_own_worker() THEN w.name ELSE gridgov_person_name(w.name) END AS name, "
    "CASE WHEN w.id = gridgov_own_worker() THEN w.phone ELSE gridgov_person_phone(w.phone) END AS phone, "
    "w.home_grid_code AS grid_code, ST_X(w.geom) AS lon, ST_Y(w.geom) AS lat, "
    "w.located_at, w.on_duty, w.available, w.skills, w.open_tasks, w.capacity"
)


def find_worker(session: Session, worker_id: int, area: str) -> dict[str, Any] | None:
    """A worker whose home grid lies in the area, if any."""
    row = (
        session.execute(
            text(
                f"SELECT {_WORKER_COLUMNS} FROM workers w WHERE w.id = :id AND {in_area('w.home_grid_code')}"
            ),
            {"id": worker_id, **area_range(area)},
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def get_worker(session: Session, worker_id: int, area: str) -> dict[str, Any]:
    """A worker in the area; NotFoundError otherwise."""
    worker = find_worker(session, worker_id, area)
    if worker is None:
        raise NotFoundError(f"网格员 {worker_id} 不存在", where="worker_id")
    return worker


def set_worker_status(
    session: Session, worker_id: int, *, area: str, on_duty: bool | None = None, available: bool | None = None
) -> dict[str, Any]:
    """Set a worker's on-duty and availability flags (a missing flag keeps its value)."""
    get_worker(session, worker_id, area)
    session.execute(
        text(
            "UPDATE workers SET on_duty = coalesce(:d, on_duty), available = coalesce(:a, available) "
            "WHERE id = :id"
        ),
        {"d": on_duty, "a": available, "id": worker_id},
    )
    return get_worker(session, worker_id, area)


# How far outside its county boundary a fix is; 0 inside. Geography gives metres.
_OUTSIDE_M = text("""
SELECT CASE WHEN ST_Covers(g.geom, p.pt) THEN 0 ELSE ST_Distance(g.geom::geography, p.pt::geography) END
FROM grids g, (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS pt) p
WHERE g.code = :county AND g.valid_to IS NULL
""")
# An older fix than the one held is not applied (a fix from the future held is replaced).
_MOVE = text(
    "UPDATE workers SET geom = ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), "
    "located_at = :at "
    "WHERE id = :id AND (located_at IS NULL OR located_at > :now OR located_at <= :at) "
    "RETURNING id"
)


def set_worker_location(
    session: Session,
    worker_id: int,
    lon: float,
    lat: float,
    *,
    area: str,
    at: datetime | None,
    max_outside_m: float,
) -> dict[str, Any]:
    """Record a worker's WGS84 position; refuse one far outside the county; ignore an older fix."""
    now = clock.now()
    worker = get_worker(session, worker_id, area)
    _refuse_far_outside(session, worker, area, lon, lat, max_outside_m)
    params = {"lon": lon, "lat": lat, "at": at or now, "now": now, "id": worker_id}
    applied = session.execute(_MOVE, params).first()
    return {**get_worker(session, worker_id, area), "applied": applied is not None}


def _refuse_far_outside(
    session: Session, worker: dict[str, Any], area: str, lon: float, lat: float, max_outside_m: float
) -> None:
    """OutsideCountyError when the point lies more than `max_outside_m` outside the worker's county."""
    county = (worker["grid_code"] or area)[:6] + "000000000"
    outside = session.execute(_OUTSIDE_M, {"lon": lon, "lat": lat, "county": county}).scalar()
    if outside is not None and outside > max_outside_m:
        raise OutsideCountyError(
            f"位置 lon {lon}, lat {lat}（WGS84）在县界外约 {outside / 1000:,.1f} 公里，超过允许的 "
            f"{max_outside_m / 1000:,.1f} 公里",
            where="lon,lat",
        )


_QUEUE = text(f"""
SELECT e.id, e.kind, e.category, e.severity, e.status, gridgov_person_text(e.title, e.id) AS title,
       e.grid_code, e.reported_at, e.deadline_at, e.deadline_provisional,
       {figures.overdue_at("e", ":at")} AS overdue,
       e.escalation_level, ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat
FROM events e
WHERE e.status IN ('reported', 'registered') AND e.assignee_id IS NULL
  AND e.grid_code ~>=~ :lo AND e.grid_code ~<~ :hi
  AND e.referral_status IS DISTINCT FROM 'referred'
ORDER BY e.severity DESC, e.deadline_at ASC NULLS LAST, e.reported_at ASC, e.id
LIMIT :limit
""")
_WORKER_TASKS = text("""
SELECT w.id AS worker_id, gridgov_person_name(w.name) AS name, w.home_grid_code AS grid_code, w.open_tasks,
       w.capacity, w.on_duty, w.available,
       json_agg(json_build_object('id', e.id, 'title', gridgov_person_text(e.title, e.id), 'status', e.status,
                                  'severity', e.severity,
                                  'deadline_at', e.deadline_at,
                                  'deadline_provisional', e.deadline_provisional)
                ORDER BY e.deadline_at NULLS LAST, e.id) AS tasks
FROM events e JOIN workers w ON w.id = e.assignee_id
WHERE e.status IN ('dispatched', 'in_progress') AND e.grid_code ~>=~ :lo AND e.grid_code ~<~ :hi
GROUP BY w.id ORDER BY w.open_tasks DESC, w.id
LIMIT :limit
""")
_DEPARTMENT_REQUESTS = text("""
SELECT d.id AS department_id, d.name, d.kind,
       json_agg(json_build_object('id', wh.id, 'event_id', wh.event_id, 'kind', wh.kind,
                                  'requested_at', wh.requested_at, 'respond_by', wh.respond_by,
                                  'finish_by', wh.finish_by, 'signed_at', wh.signed_at,
                                  'responded_at', wh.responded_at,
                                  'late', coalesce(wh.responded_at, :now) > wh.respond_by
                                          OR (wh.responded_at IS NOT NULL AND wh.finish_by < :now))
                ORDER BY wh.respond_by, wh.id) AS requests
FROM whistles wh JOIN departments d ON d.id = wh.department_id JOIN events e ON e.id = wh.event_id
WHERE wh.finished_at IS NULL AND wh.withdrawn_at IS NULL AND e.grid_code ~>=~ :lo AND e.grid_code ~<~ :hi
GROUP BY d.id ORDER BY min(wh.respond_by), d.id
LIMIT :limit
""")


def get_board(session: Session, area: str, limit: int = 100) -> dict[str, Any]:
    """The dispatch board: unassigned queue (with 超期 now), workers' open tasks, open requests, overdue
    per grid."""
    params = {**area_range(area), "limit": limit, "now": clock.now()}
    return {
        "queue": [dict(r) for r in session.execute(_QUEUE, {**params, "at": clock.now()}).mappings()],
        "workers": [dict(r) for r in session.execute(_WORKER_TASKS, params).mappings()],
        "departments": [dict(r) for r in session.execute(_DEPARTMENT_REQUESTS, params).mappings()],
        "overdue_by_grid": count_overdue_by_grid(session, area, limit),
    }
