"""Moving a case through its lifecycle: transitions, escalation, referral, deadlines (departments' tasks:
geo.queries.whistles).

Each function locks the case row (SELECT ... FOR UPDATE) so concurrent changes of one case run one
after the other and always see its latest status; the rules come from geo.lifecycle, who may take
the step too (`lifecycle.check_step`: the role, or the case's own grid worker, and not while
suspended unless the step allows it), and every change writes one event_log row. Nothing here commits.
"""

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import clock, lifecycle
from geo.deadlines import Deadline, extend
from geo.errors import ConflictError, InvalidInputError
from geo.lifecycle import Actor
from geo.queries import whistles
from geo.queries.dispatch import adjust_open_tasks
from geo.queries.events import get_event, lock_event, log_step
from geo.queries.timelimits import (
    deadline_columns,
    deadline_for,
    get_deadline,
    load_calendar,
    paused_total,
    record_pause,
)


def _update(session: Session, event_id: int, **values: Any) -> None:
    """Set columns of one case; column names come from this module only, values are bound."""
    sets = ", ".join(f"{column} = :{column}" for column in values)
    session.execute(text(f"UPDATE events SET {sets} WHERE id = :event_id"), {**values, "event_id": event_id})


def _resume_clock(session: Session, event_id: int) -> None:
    """End a suspension: the deadline moves by the paused time (挂账 stops the clock)."""
    before = paused_total(session, event_id)
    session.execute(
        text(
            "UPDATE events SET deadline_at = deadline_at + (:now - suspended_at), "
            "suspended_total = suspended_total + (:now - suspended_at), suspended_at = NULL "
            "WHERE id = :id AND suspended_at IS NOT NULL"
        ),
        {"id": event_id, "now": clock.now()},
    )
    record_pause(session, event_id, before)


def _check_duplicate_of(session: Session, event_id: int, duplicate_of: int | None, area: str) -> int:
    if duplicate_of is None:
        raise InvalidInputError("合并重复件须给出 duplicate_of（保留的原案件编号）", where="duplicate_of")
    if duplicate_of == event_id:
        raise InvalidInputError("案件不能是自身的重复件", where="duplicate_of")
    original = get_event(session, duplicate_of, area)
    if original["status"] in ("duplicate", "rejected"):
        raise ConflictError(
            f"案件 {duplicate_of} 本身已是重复件或不予受理，请指向原案件", where="duplicate_of"
        )
    return duplicate_of


def transition_event(
    session: Session,
    event_id: int,
    to: str,
    *,
    area: str,
    actor: Actor,
    note: str = "",
    duplicate_of: int | None = None,
) -> dict[str, Any]:
    """Move a case to `to` along the state machine; TransitionError lists the allowed targets."""
    ev = lock_event(session, event_id, area)
    edge = lifecycle.get_transition(ev.status, to)
    _check_transition(ev, edge, actor, note)
    values = _transition_values(session, ev, to, edge.action, actor, duplicate_of, area)
    _leave_status(session, ev, to)
    _update(session, event_id, **values)
    data = {k: v for k, v in values.items() if k not in ("status", "deadline_basis")}
    log_step(session, ev, actor.name, edge.action, to_status=to, note=note, data=data)
    return get_event(session, event_id, area)


def _check_transition(ev: Any, edge: Any, actor: Actor, note: str) -> None:
    """The actor may take the step now, with a reason where it needs one; a verifier is not the handler."""
    _check(ev, edge.action, actor)
    lifecycle.require_reason(edge, note)
    if edge.action == "verify" and ev.handled_by == actor.name:
        raise ConflictError(f"核查须由处置人（{actor.name}）以外的人员进行", where="actor")


def _transition_values(
    session: Session, ev: Any, to: str, action: str, actor: Actor, duplicate_of: int | None, area: str
) -> dict[str, Any]:
    """The columns a transition sets: the status, and what comes with reaching it."""
    values: dict[str, Any] = {"status": to}
    if lifecycle.starts_clock(ev.status, to):
        values.update(deadline_columns(deadline_for(session, ev.category, ev.severity, clock.now())))
    if to == "handled":
        values["handled_by"] = actor.name
    if to == "duplicate":
        values["duplicate_of"] = _check_duplicate_of(session, ev.id, duplicate_of, area)
    if to == "closed":
        values["closed_at"] = clock.now()
    if action == "decline":
        values["assignee_id"] = None
    return values


def _leave_status(session: Session, ev: Any, to: str) -> None:
    """What leaving the case's status undoes: a suspension ends when the clock stops running, and the
    assignee's count of open tasks moves."""
    if ev.suspended_at is not None and to not in lifecycle.CLOCK_RUNS:
        _resume_clock(session, ev.id)
    if ev.assignee_id is not None:
        adjust_open_tasks(session, ev.assignee_id, lifecycle.task_delta(ev.status, to))


def _check(ev: Any, action: str, actor: Actor) -> None:
    """The actor may take the step on this case now (geo.lifecycle.check_step)."""
    lifecycle.check_step(action, actor, assignee_id=ev.assignee_id, suspended=ev.suspended_at is not None)


def _require_open(ev: Any, what: str) -> None:
    if ev.status in lifecycle.FINAL:
        raise ConflictError(f"案件已终结（{lifecycle.STATUS_LABELS[ev.status]}），不能{what}", where="status")


def escalate_event(
    session: Session, event_id: int, *, area: str, actor: Actor, note: str = ""
) -> dict[str, Any]:
    """Raise a case one level (grid → village → township → county); ConflictError at the county."""
    ev = lock_event(session, event_id, area)
    _check(ev, "escalate", actor)
    _require_open(ev, "上报")
    level = lifecycle.next_escalation(ev.escalation_level)
    _update(session, event_id, escalation_level=level)
    data = {"from_level": ev.escalation_level, "to_level": level}
    log_step(session, ev, actor.name, "escalate", note=note, data=data)
    return get_event(session, event_id, area)


def refer_event(
    session: Session,
    event_id: int,
    to: str,
    *,
    area: str,
    actor: Actor,
    note: str = "",
    hours: int = 24,
    feedback_hours: int = 72,
) -> dict[str, Any]:
    """Refer a case to the court (诉调), the police (警调) or the petition office (访调); the county's
    department of that kind gets a task (geo.queries.whistles) to answer within `hours`."""
    ev = _lock_for_referral(session, event_id, to, area=area, actor=actor)
    _update(session, event_id, referral=to, referral_status="referred")
    task = whistles.open_referral_task(
        session, ev, to, actor=actor.name, hours=hours, feedback_hours=feedback_hours, note=note
    )
    log_step(session, ev, actor.name, "refer", note=note, data=_referral_data(to, task))
    return get_event(session, event_id, area)


def _lock_for_referral(session: Session, event_id: int, to: str, *, area: str, actor: Actor) -> Any:
    """The case, locked, once `to` is a referral target and the actor may refer the case: it is open
    and not referred already."""
    if to not in lifecycle.REFERRALS:
        raise InvalidInputError(f"移交对象须为 {', '.join(lifecycle.REFERRALS)}；收到 {to!r}", where="to")
    ev = lock_event(session, event_id, area)
    _check(ev, "refer", actor)
    _require_open(ev, "移交")
    if ev.referral_status == "referred":
        raise ConflictError(f"案件已移交{lifecycle.REFERRALS[ev.referral]}，请先收回再移交", where="to")
    return ev


def _referral_data(to: str, task: dict[str, Any] | None) -> dict[str, Any]:
    """What the timeline keeps of a referral: its target and, when a department got one, the task."""
    data: dict[str, Any] = {"to": to}
    if task is not None:
        data |= {
            "whistle_id": task["id"],
            "department_id": task["department_id"],
            "department": task["department"],
        }
    return data


def return_referral(
    session: Session, event_id: int, *, area: str, actor: Actor, note: str = ""
) -> dict[str, Any]:
    """Take a referred case back from the court, police or petition office (its open task is withdrawn)."""
    ev = lock_event(session, event_id, area)
    _check(ev, "referral_return", actor)
    if ev.referral_status != "referred":
        raise ConflictError("案件当前未移交，无需收回", where="action")
    _update(session, event_id, referral_status="returned")
    withdrawn = whistles.withdraw_referral_tasks(session, event_id)
    data = {"from": ev.referral, "withdrawn_tasks": withdrawn}
    log_step(session, ev, actor.name, "referral_return", note=note, data=data)
    return get_event(session, event_id, area)


def _require_clock(ev: Any, what: str) -> None:
    if ev.status not in lifecycle.CLOCK_RUNS or ev.deadline_at is None:
        raise ConflictError(f"只有已立案、未办结且有办理时限的案件才能{what}", where="status")


def extend_deadline(
    session: Session,
    event_id: int,
    *,
    area: str,
    actor: Actor,
    reason: str,
    hours: float | None = None,
    days: int | None = None,
) -> dict[str, Any]:
    """延期: move the deadline by clock hours or by working days (provisional past the known years)."""
    if (hours is None) == (days is None):
        raise InvalidInputError("延期须给出 hours 或 days 之一", where="hours,days")
    ev = lock_event(session, event_id, area)
    _check(ev, "extend", actor)
    _require_clock(ev, "延期")
    new = _extended(session, event_id, hours, days)
    _update(session, event_id, **deadline_columns(new))
    log_step(session, ev, actor.name, "extend", note=reason, data=_extension_data(ev, new, hours, days))
    return get_event(session, event_id, area)


def _extended(session: Session, event_id: int, hours: float | None, days: int | None) -> Deadline:
    """The case's deadline moved by `hours` or by `days` on the holiday calendar."""
    current = get_deadline(session, event_id)
    assert current is not None  # _require_clock: the case has a deadline
    return extend(current, load_calendar(session), hours=hours, days=days)


def _extension_data(ev: Any, new: Deadline, hours: float | None, days: int | None) -> dict[str, Any]:
    """What the timeline keeps of an extension: both deadlines, the hours or days, uncovered years."""
    return {
        "from_deadline": ev.deadline_at,
        "to_deadline": new.at,
        "hours": hours,
        "days": days,
        "deadline_uncovered_years": sorted(new.uncovered),
    }


def suspend_event(session: Session, event_id: int, *, area: str, actor: Actor, reason: str) -> dict[str, Any]:
    """挂账: stop the clock of a case that cannot progress for now."""
    ev = lock_event(session, event_id, area)
    _check(ev, "suspend", actor)
    _require_clock(ev, "挂账")
    if ev.suspended_at is not None:
        raise ConflictError("案件已挂账", where="status")
    session.execute(
        text("UPDATE events SET suspended_at = :now WHERE id = :id"), {"id": event_id, "now": clock.now()}
    )
    log_step(session, ev, actor.name, "suspend", note=reason)
    return get_event(session, event_id, area)


def resume_event(
    session: Session, event_id: int, *, area: str, actor: Actor, note: str = ""
) -> dict[str, Any]:
    """End 挂账: the clock runs again and the deadline moves by the paused time."""
    ev = lock_event(session, event_id, area)
    _check(ev, "resume", actor)
    if ev.suspended_at is None:
        raise ConflictError("案件未挂账", where="status")
    _resume_clock(session, event_id)
    log_step(session, ev, actor.name, "resume", note=note, data={"suspended_at": ev.suspended_at})
    return get_event(session, event_id, area)
