"""Departments' tasks on cases (table whistles): 吹哨报到 and referrals, and the department's answers.

The centre whistles a department of the case's county (吹哨) or refers the case to the court, the police
or the petition office (移交, which gives the county's department of that kind a task too). The
department signs for its task (签收), reports (报到) by `respond_by` and reports back when done
(办结反馈) by `finish_by`, with text and photos; the centre reads every step and whether it was late.
A case holds at most one open task per department: a second whistle is refused, naming the first.

Department steps check the account's role, its department (gridgov_department(), migration 0050:
row-level security shows a department its own tasks only) and the task's state, in that order, and
log one timeline entry each. Nothing here commits.
"""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import clock, lifecycle, vocabulary
from geo.errors import ConflictError, ForbiddenError, NotFoundError
from geo.queries.area import area_range, in_area
from geo.queries.events import get_event, lock_event, log_action, log_step

REFERRAL_KINDS = {"court": "court", "police": "police", "petition": "petition"}  # referral -> department kind
STEP_ACTIONS = {"sign": "whistle_sign", "answer": "whistle_response", "finish": "whistle_feedback"}

_STATE = """CASE WHEN w.withdrawn_at IS NOT NULL THEN 'withdrawn'
     WHEN w.finished_at IS NOT NULL THEN 'finished' WHEN w.responded_at IS NOT NULL THEN 'reported'
     WHEN w.signed_at IS NOT NULL THEN 'signed' ELSE 'requested' END"""
# Late: answered (or, while unanswered, now) after the limit; a withdrawn task stops counting there.
_TASK = f"""
SELECT w.id, w.event_id, w.department_id, d.name AS department, d.kind AS department_kind, w.kind, w.note,
       w.requested_by, w.requested_at, w.respond_by, w.finish_by, w.signed_at, w.signed_by,
       w.responded_at, w.responded_by, w.response, w.finished_at, w.finished_by, w.feedback,
       w.withdrawn_at, {_STATE} AS state,
       coalesce(w.responded_at, w.withdrawn_at, :now) > w.respond_by AS report_late,
       coalesce(w.finished_at, w.withdrawn_at, :now) > w.finish_by AS feedback_late,
       e.title, e.kind AS event_kind, e.category, e.severity, e.status AS event_status, e.grid_code,
       ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat, e.reported_at
FROM whistles w JOIN departments d ON d.id = w.department_id JOIN events e ON e.id = w.event_id
"""
_OPEN = "w.finished_at IS NULL AND w.withdrawn_at IS NULL"
_GET = text(_TASK + "WHERE w.id = :id AND e.grid_code ~>=~ :lo AND e.grid_code ~<~ :hi")
_OF_CASE = text(_TASK + "WHERE w.event_id = :event_id ORDER BY w.requested_at, w.id")
_LIST = {
    "open": text(
        _TASK + f"WHERE {in_area('e.grid_code')} AND {_OPEN} AND (CAST(:dept AS bigint) IS NULL "
        "OR w.department_id = :dept) ORDER BY w.respond_by, w.id LIMIT :limit"
    ),
    "done": text(
        _TASK + f"WHERE {in_area('e.grid_code')} AND NOT ({_OPEN}) AND (CAST(:dept AS bigint) IS NULL "
        "OR w.department_id = :dept) ORDER BY coalesce(w.finished_at, w.withdrawn_at) DESC, w.id "
        "LIMIT :limit"
    ),
}
_OPEN_TASK = text(
    f"SELECT w.id, {_STATE} AS state FROM whistles w "
    f"WHERE w.event_id = :e AND w.department_id = :d AND {_OPEN}"
)
_INSERT = text("""
INSERT INTO whistles (event_id, department_id, kind, note, requested_by, requested_at, respond_by, finish_by)
VALUES (:e, :d, :kind, :note, :actor, :now, :respond_by, :finish_by) RETURNING id
""")
_DEPARTMENT = text("SELECT id, name, kind FROM departments WHERE id = :d AND county_code = :county")
_OF_KIND = text(
    "SELECT id, name, kind FROM departments WHERE kind = :kind AND county_code = :county "
    "ORDER BY code LIMIT 1"
)


def _limits(now: Any, hours: int, feedback_hours: int) -> dict[str, Any]:
    """respond_by and finish_by of a task asked for now (reporting back never before reporting)."""
    respond_by = now + timedelta(hours=hours)
    return {
        "now": now,
        "respond_by": respond_by,
        "finish_by": max(respond_by, now + timedelta(hours=feedback_hours)),
    }


def get_task(session: Session, task_id: int, area: str) -> dict[str, Any]:
    """One department task whose case lies in the area, with its state and lateness."""
    row = session.execute(_GET, {"id": task_id, **area_range(area), "now": clock.now()}).mappings().first()
    if row is None:
        raise NotFoundError(f"部门任务 {task_id} 不存在", where="whistle_id")
    return dict(row)


def list_case_tasks(session: Session, event_id: int, area: str) -> list[dict[str, Any]]:
    """Every department task of a case, oldest first: each answer and each lateness, for the centre."""
    get_event(session, event_id, area)
    return [dict(r) for r in session.execute(_OF_CASE, {"event_id": event_id, "now": clock.now()}).mappings()]


def list_tasks(
    session: Session, area: str, *, state: str = "open", department_id: int | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """Open (most urgent first) or done (newest first) tasks of the area, optionally of one department."""
    params = {**area_range(area), "dept": department_id, "limit": limit, "now": clock.now()}
    return [dict(r) for r in session.execute(_LIST[state], params).mappings()]


def own_department(session: Session) -> int | None:
    """The department of the requesting account (None unless it is a department account)."""
    return session.execute(text("SELECT gridgov_department()")).scalar()


def _refuse_second(session: Session, event_id: int, dept: Any) -> None:
    """A case holds one open task per department: say which one is already open."""
    open_task = session.execute(_OPEN_TASK, {"e": event_id, "d": dept.id}).first()
    if open_task is not None:
        state = vocabulary.label("task_state", open_task.state)
        raise ConflictError(
            f"本案已向{dept.name}派出任务（第 {open_task.id} 号，{state}），不再重复吹哨；请等待其报到",
            where="department_id",
        )


def request_whistle(
    session: Session,
    event_id: int,
    department_id: int,
    *,
    hours: int,
    feedback_hours: int,
    area: str,
    actor: lifecycle.Actor,
    note: str = "",
) -> dict[str, Any]:
    """吹哨: ask a department of the case's county to report within `hours` and report back within
    `feedback_hours`; ConflictError when it already has an open task on the case."""
    ev, dept = _lock_for_whistle(session, event_id, department_id, area=area, actor=actor)
    limits = _limits(clock.now(), hours, feedback_hours)
    task_id = _insert_task(session, event_id, dept.id, "whistle", actor.name, note, limits)
    data = _whistle_data(task_id, dept, hours, feedback_hours, limits)
    log_step(session, ev, actor.name, "whistle", note=note, data=data)
    return get_task(session, task_id, area)


def _lock_for_whistle(
    session: Session, event_id: int, department_id: int, *, area: str, actor: lifecycle.Actor
) -> tuple[Any, Any]:
    """The case, locked, and the department to whistle, once the actor may whistle on the open case and
    the department, of the case's county, has no open task on it."""
    ev = lock_event(session, event_id, area)
    lifecycle.check_step("whistle", actor, assignee_id=ev.assignee_id, suspended=ev.suspended_at is not None)
    if ev.status in ("closed", "rejected", "duplicate"):
        raise ConflictError("案件已终结，不能吹哨", where="status")
    dept = session.execute(_DEPARTMENT, {"d": department_id, "county": ev.grid_code[:6]}).first()
    if dept is None:
        raise NotFoundError(f"部门 {department_id} 不存在", where="department_id")
    _refuse_second(session, event_id, dept)
    return ev, dept


def _insert_task(
    session: Session, event_id: int, dept_id: int, kind: str, actor: str, note: str, limits: dict[str, Any]
) -> int:
    """A new task of the department on the case, due as `limits` say (_limits); its id."""
    params = {"e": event_id, "d": dept_id, "kind": kind, "note": note or "", "actor": actor, **limits}
    task_id: int = session.execute(_INSERT, params).scalar_one()
    return task_id


def _whistle_data(task_id: int, dept: Any, hours: int, feedback_hours: int, limits: dict[str, Any]) -> dict:
    """What the timeline keeps of a whistle: the task, its department, the hours and the limits."""
    data = {"whistle_id": task_id, "department_id": dept.id, "department": dept.name, "hours": hours}
    data |= {
        "feedback_hours": feedback_hours,
        "respond_by": limits["respond_by"],
        "finish_by": limits["finish_by"],
    }
    return data


def open_referral_task(
    session: Session, ev: Any, to: str, *, actor: str, hours: int, feedback_hours: int, note: str = ""
) -> dict[str, Any] | None:
    """The task a referral gives the county's court, police or petition office ({id, name}), or None
    when the county has no such department; an open task of that department serves as it is."""
    dept = session.execute(_OF_KIND, {"kind": REFERRAL_KINDS[to], "county": ev.grid_code[:6]}).first()
    if dept is None:
        return None
    open_task = session.execute(_OPEN_TASK, {"e": ev.id, "d": dept.id}).first()
    if open_task is not None:
        return {"id": open_task.id, "department_id": dept.id, "department": dept.name}
    limits = _limits(clock.now(), hours, feedback_hours)
    task_id = _insert_task(session, ev.id, dept.id, "referral", actor, note, limits)
    return {"id": task_id, "department_id": dept.id, "department": dept.name}


def withdraw_referral_tasks(session: Session, event_id: int) -> list[int]:
    """A referral taken back withdraws its open tasks; returns their ids."""
    rows = session.execute(
        text(
            "UPDATE whistles w SET withdrawn_at = :now "
            f"WHERE w.event_id = :e AND w.kind = 'referral' AND {_OPEN} RETURNING w.id"
        ),
        {"e": event_id, "now": clock.now()},
    )
    return [r.id for r in rows]


_LOCK = text(
    f"SELECT w.*, {_STATE} AS state, d.name AS department FROM whistles w "
    "JOIN departments d ON d.id = w.department_id WHERE w.id = :id FOR UPDATE OF w"
)
# Which state a step needs the task in, and what to say otherwise.
_NEEDS = {
    "sign": (
        "requested",
        {"signed": "任务已签收", "reported": "任务已签收并报到", "finished": "任务已办结反馈"},
    ),
    "answer": (
        "signed",
        {"requested": "请先签收任务", "reported": "任务已报到", "finished": "任务已办结反馈"},
    ),
    "finish": (
        "reported",
        {"requested": "请先签收并报到", "signed": "请先报到", "finished": "任务已办结反馈"},
    ),
}


def _lock_own_task(session: Session, task_id: int, role: str, step: str) -> Any:
    """The task, locked, once the account is a department account of the task's department and the
    task is in the state the step needs (ForbiddenError, NotFoundError, ConflictError otherwise)."""
    if role != "department":
        raise ForbiddenError("只有职能部门账号可以签收、报到或反馈部门任务", where="role")
    dept = own_department(session)
    if dept is None:
        raise ForbiddenError("账号未绑定部门", where="department_id")
    task = session.execute(_LOCK, {"id": task_id}).first()
    if task is None or task.department_id != dept:
        raise NotFoundError(f"部门任务 {task_id} 不存在", where="whistle_id")
    if task.state == "withdrawn":
        raise ConflictError("任务已撤回（案件已收回）", where="whistle_id")
    needed, refusals = _NEEDS[step]
    if task.state != needed:
        raise ConflictError(refusals[task.state], where="whistle_id")
    return task


_STEP_SQL = {
    "sign": "signed_at = :now, signed_by = :actor",
    "answer": "responded_at = :now, responded_by = :actor, response = :text",
    "finish": "finished_at = :now, finished_by = :actor, feedback = :text",
}


def take_step(
    session: Session, task_id: int, step: str, *, role: str, actor: str, area: str, text_: str = ""
) -> dict[str, Any]:
    """A department's step on its own task: `sign` (签收), `answer` (报到) or `finish` (办结反馈, with
    `text_`). Logged on the case's timeline with the department and whether it came late."""
    task = _lock_own_task(session, task_id, role, step)
    now = clock.now()
    params = {"id": task_id, "now": now, "actor": actor, "text": text_}
    session.execute(text(f"UPDATE whistles SET {_STEP_SQL[step]} WHERE id = :id"), params)
    _log_on_case(session, task, actor, STEP_ACTIONS[step], text_, _step_data(task, step, now))
    return get_task(session, task_id, area)


def _log_on_case(
    session: Session, task: Any, actor: str, action: str, note: str, data: dict[str, Any]
) -> None:
    """Log a department's step on the timeline of the task's case, whose status it leaves as it is."""
    status = session.execute(_CASE_STATUS, {"e": task.event_id}).scalar_one()
    log_action(
        session, task.event_id, actor, action, from_status=status, to_status=status, note=note, data=data
    )


def _step_data(task: Any, step: str, now: datetime) -> dict[str, Any]:
    """What the timeline keeps of a department's step: the task, its limit, and how late it came."""
    limit = task.finish_by if step == "finish" else task.respond_by
    late_s = max(int((now - limit).total_seconds()), 0) if step != "sign" else 0
    data = {"whistle_id": task.id, "department_id": task.department_id, "department": task.department}
    data |= {"kind": task.kind, "limit": limit, "late": late_s > 0, "late_s": late_s}
    return data


_CASE_STATUS = text("SELECT status FROM events WHERE id = :e")


_SUGGEST = text("""
SELECT d.id, d.code, d.name, d.kind, e.category = ANY(d.categories) AS suggested, t.id AS open_task_id
FROM events e JOIN departments d ON d.county_code = left(e.grid_code, 6)
LEFT JOIN whistles t ON t.event_id = e.id AND t.department_id = d.id
                    AND t.finished_at IS NULL AND t.withdrawn_at IS NULL
WHERE e.id = :id
ORDER BY e.category = ANY(d.categories) DESC, d.kind, d.code
""")


def suggest_departments(session: Session, event_id: int, area: str) -> list[dict[str, Any]]:
    """The departments of the case's county, those taking its category first (`suggested`), each with
    its open task on the case (`open_task_id`), if any."""
    get_event(session, event_id, area)
    return [dict(r) for r in session.execute(_SUGGEST, {"id": event_id}).mappings()]
