"""Dispatch demo data: mediators of the mediation committees, and a consistent dispatch state.

Called by the demo loader after grids, workers, departments and events exist. Deterministic for a
given `rng_seed`. The reference data (time limits, the 2026 holiday calendar) comes with migration 0003.
"""

import random
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.deadlines import time_limit
from geo.queries.timelimits import deadline_columns, load_calendar

_SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
_GIVEN = (
    "建国",
    "秀英",
    "志强",
    "桂兰",
    "海燕",
    "永红",
    "玉梅",
    "文华",
    "德明",
    "淑珍",
    "国庆",
    "春花",
    "明辉",
    "丽娟",
)


def _person(rng: random.Random) -> tuple[str, str]:
    name = rng.choice(_SURNAMES) + rng.choice(_GIVEN)
    phone = "1" + rng.choice("3589") + "".join(rng.choice("0123456789") for _ in range(9))
    return name, phone


_COMMITTEES = text(
    "SELECT id FROM departments WHERE kind = 'mediation_committee' AND county_code = :c ORDER BY id"
)
_INSERT_MEDIATORS = text(
    "INSERT INTO mediators (department_id, name, phone, on_call) VALUES (:d, :name, :phone, :on_call)"
)


def seed_mediators(session: Session, county_code: str, rng: random.Random) -> int:
    """Give each mediation committee of the county 3-5 mediators, about half of them on call."""
    committees = session.execute(_COMMITTEES, {"c": county_code}).scalars().all()
    rows: list[dict[str, Any]] = []
    for dept in committees:
        count = rng.randint(3, 5)
        for i in range(count):
            name, phone = _person(rng)
            rows.append({"d": dept, "name": name, "phone": phone, "on_call": i == 0 or rng.random() < 0.4})
    if rows:
        session.execute(_INSERT_MEDIATORS, rows)
    return len(rows)


_TIME_LIMITS = text("SELECT category, severity, amount, unit FROM time_limits")
_WITHOUT_DEADLINE = text(
    "SELECT id, category, severity, reported_at FROM events WHERE deadline_at IS NULL "
    "AND status IN ('registered','dispatched','in_progress') AND grid_code LIKE :c ORDER BY id"
)
_SET_DEADLINES = text(
    "UPDATE events SET deadline_at = :deadline_at, "
    "deadline_basis = CAST(:deadline_basis AS jsonb), "
    "deadline_uncovered_years = CAST(:deadline_uncovered_years AS smallint[]) WHERE id = :id"
)


def load_time_limits(session: Session) -> dict[tuple[str, int], tuple[int, str]]:
    """Every time limit, (category, severity) -> (amount, unit); category '*' is any other category."""
    return {(r.category, r.severity): (r.amount, r.unit) for r in session.execute(_TIME_LIMITS)}


def find_limit(limits: dict, category: str, severity: int) -> tuple[int, str] | None:
    """The time limit of a category and severity (else of any category at that severity), or None."""
    return limits.get((category, severity)) or limits.get(("*", severity))


def backfill_deadlines(session: Session, county_code: str) -> int:
    """Give registered, dispatched and in-progress cases without a deadline one counted from their report."""
    limits = load_time_limits(session)
    calendar = load_calendar(session)
    events = session.execute(_WITHOUT_DEADLINE, {"c": county_code + "%"}).all()
    rows = []
    for ev in events:
        limit = find_limit(limits, ev.category, ev.severity)
        if limit:
            deadline = time_limit(ev.reported_at, limit[0], limit[1], calendar)
            rows.append({"id": ev.id, **deadline_columns(deadline)})
    if rows:
        session.execute(_SET_DEADLINES, rows)
    return len(rows)


# Dispatched cases go to their grid's responsible worker; open_tasks then counts exactly those cases
# (capacity is raised where the demo history gave a worker more than it allows).
_ASSIGN_OPEN = """
UPDATE events e SET assignee_id = g.worker_id
FROM grids g
WHERE g.id = e.grid_id AND g.worker_id IS NOT NULL AND e.assignee_id IS NULL
  AND e.status IN ('dispatched','in_progress') AND e.grid_code LIKE :c
"""
_RECOUNT = """
WITH n AS (
    SELECT w.id, count(e.id) AS open FROM workers w
    LEFT JOIN events e ON e.assignee_id = w.id AND e.status IN ('dispatched','in_progress')
    WHERE w.home_grid_code LIKE :c GROUP BY w.id
)
UPDATE workers w SET capacity = greatest(w.capacity, n.open), open_tasks = n.open
FROM n WHERE n.id = w.id
"""


def seed_dispatch_demo(session: Session, county_code: str, rng_seed: int) -> dict[str, int]:
    """Mediators, deadlines of open cases, and assignees consistent with workers' open-task counts."""
    rng = random.Random(rng_seed)
    mediators = seed_mediators(session, county_code, rng)
    deadlines = backfill_deadlines(session, county_code)
    assigned = session.execute(text(_ASSIGN_OPEN), {"c": county_code + "%"}).rowcount
    session.execute(text(_RECOUNT), {"c": county_code + "%"})
    return {"mediators": mediators, "deadlines": deadlines, "assigned": assigned}
