"""Time limits (时限) of cases: the holiday calendar, a case's deadline and its basis, pauses (挂账).

The lists of cases past or near their deadline are in geo.queries.overdue.
"""

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.deadlines import Deadline, HolidayCalendar, time_limit


def load_calendar(session: Session) -> HolidayCalendar:
    """The holiday calendar (days off, adjusted working weekends, covered years) from the database."""
    return HolidayCalendar.from_rows(
        ((row.day, row.workday) for row in session.execute(text("SELECT day, workday FROM holidays"))),
        years=session.execute(text("SELECT year FROM calendar_years")).scalars(),
    )


def deadline_for(session: Session, category: str, severity: int, start: datetime) -> Deadline | None:
    """The deadline of a case registered at `start`, from its category's (or the default) time limit."""
    limit = session.execute(
        text(
            "SELECT amount, unit FROM time_limits WHERE severity = :s AND category IN (:c, '*') "
            "ORDER BY category = '*' LIMIT 1"
        ),
        {"s": severity, "c": category},
    ).first()
    if limit is None:
        return None
    return time_limit(start, limit.amount, limit.unit, load_calendar(session))


def deadline_columns(deadline: Deadline | None) -> dict[str, Any]:
    """The events columns that hold a deadline: its instant, its basis, the years counted as weekends only."""
    if deadline is None:
        return {"deadline_at": None, "deadline_basis": None, "deadline_uncovered_years": []}
    return {
        "deadline_at": deadline.at,
        "deadline_basis": None if deadline.basis is None else json.dumps(list(deadline.basis)),
        "deadline_uncovered_years": sorted(deadline.uncovered),
    }


def get_deadline(session: Session, event_id: int) -> Deadline | None:
    """A case's deadline with its basis (None when it has none); lock the case first to change it."""
    row = session.execute(
        text("SELECT deadline_at, deadline_basis, deadline_uncovered_years FROM events WHERE id = :id"),
        {"id": event_id},
    ).first()
    if row is None or row.deadline_at is None:
        return None
    basis = None if row.deadline_basis is None else tuple(row.deadline_basis)
    return Deadline(row.deadline_at, frozenset(row.deadline_uncovered_years), basis)


def paused_total(session: Session, event_id: int) -> timedelta:
    """How long a case's clock has stood still so far (挂账), before a pause ends."""
    return session.execute(
        text("SELECT suspended_total FROM events WHERE id = :id"), {"id": event_id}
    ).scalar_one()


def record_pause(session: Session, event_id: int, before: timedelta) -> None:
    """Add the pause that just ended (suspended_total grew from `before`) to the deadline's basis."""
    session.execute(
        text(
            "UPDATE events SET deadline_basis = deadline_basis || jsonb_build_array(jsonb_build_object("
            "'step', 'pause', 'seconds', extract(epoch FROM suspended_total - CAST(:before AS interval)))) "
            "WHERE id = :id AND deadline_basis IS NOT NULL AND suspended_total > CAST(:before AS interval)"
        ),
        {"id": event_id, "before": before},
    )
