"""Small reads for the console: the category list and a grid worker's own tasks.

list_categories(session) -> [{code, kind, label_zh, label_en}]
list_worker_tasks(session, worker_id, area, limit=100) -> [{...case, overdue, next: [statuses]}]
"""

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import clock
from geo.lifecycle import TRANSITIONS
from geo.queries import figures
from geo.queries.area import area_range
from geo.queries.events import EVENT_COLUMNS

_CATEGORIES = text("SELECT code, kind, label_zh, label_en FROM categories ORDER BY sort_order, code")
# A worker's open work: dispatched to them and not yet verified (handled stays visible until checked),
# with 超期 at the clock's instant, so the phone shows what the desks show.
_TASKS = text(f"""
SELECT {EVENT_COLUMNS}, c.label_zh AS category_zh, {figures.overdue_at("e", ":at")} AS overdue
FROM events e JOIN categories c ON c.code = e.category
WHERE e.assignee_id = :w AND e.grid_code ~>=~ :lo AND e.grid_code ~<~ :hi
  AND e.status IN ('dispatched', 'in_progress', 'handled')
ORDER BY e.severity DESC, e.deadline_at NULLS LAST, e.id
LIMIT :limit
""")
# What a grid worker may do from the phone: start (开始处置) and finish (处置完毕); declining and rework
# (回退重办, which also leads to 处置中) are the dispatcher's, so a handled case offers no button.
WORKER_ACTIONS = frozenset({"start", "handle"})
WORKER_MOVES = frozenset(t.target for t in TRANSITIONS if t.action in WORKER_ACTIONS)


def list_categories(session: Session) -> list[dict[str, Any]]:
    """Every case category in display order."""
    return [dict(r) for r in session.execute(_CATEGORIES).mappings()]


def list_worker_tasks(session: Session, worker_id: int, area: str, limit: int = 100) -> list[dict[str, Any]]:
    """The open cases assigned to a worker, inside the area, with the moves the worker may make."""
    params = {"w": worker_id, **area_range(area), "limit": limit, "at": clock.now()}
    rows = session.execute(_TASKS, params).mappings()
    return [{**r, "next": worker_moves(r["status"])} for r in rows]


def worker_moves(status: str) -> list[str]:
    """The statuses a grid worker may move a case in `status` to from the phone."""
    return [t.target for t in TRANSITIONS if t.source == status and t.action in WORKER_ACTIONS]
