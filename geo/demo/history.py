"""The handling history of the demo's last month: who handled each case closed in it, and when.

The year of cases is loaded with its final statuses only; the monthly assessment (网格员考核) counts
what the timeline says (处置完毕, 回退重办, 核查通过) and whom a case was given. So each case closed in
the 31 days before the end of the demo year gets its grid's worker as assignee, a deadline counted from
its report by its time limit, and timeline entries between its report and its closing: started, handled,
for about one in twelve sent back and handled again, verified, closed. Seeded: the same seed and end
give the same history. 'assign' entries are not written (they would announce themselves on the live
feed, migration 0007); the assessment does not read them.
"""

import json

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.deadlines import time_limit
from geo.demo.dispatch import find_limit, load_time_limits
from geo.demo.write import _copy
from geo.queries.timelimits import deadline_columns, load_calendar

_CLOSED = text("""
SELECT e.id, e.category, e.severity, e.reported_at, e.closed_at, g.worker_id
FROM events e JOIN grids g ON g.id = e.grid_id
WHERE e.status = 'closed' AND e.grid_code LIKE :c || '%' AND e.closed_at >= to_timestamp(:since)
  AND g.worker_id IS NOT NULL
ORDER BY e.id
""")
_SET = text("""
UPDATE events e SET assignee_id = u.w, deadline_at = u.d, deadline_basis = CAST(u.b AS jsonb),
    deadline_uncovered_years = CAST(u.y AS smallint[])
FROM unnest(CAST(:ids AS bigint[]), CAST(:ws AS bigint[]), CAST(:ds AS timestamptz[]), CAST(:bs AS text[]),
            CAST(:ys AS text[])) AS u(id, w, d, b, y)
WHERE e.id = u.id
""")


def _deadlines(session: Session, rows: list) -> list[dict]:
    limits = load_time_limits(session)
    calendar = load_calendar(session)
    out = []
    for r in rows:
        limit = find_limit(limits, r.category, r.severity)
        out.append(
            deadline_columns(time_limit(r.reported_at, limit[0], limit[1], calendar) if limit else None)
        )
    return out


def seed_history(session: Session, county: str, end: int, seed: int) -> dict[str, int]:
    """Assignees, deadlines and timeline entries of the county's cases closed in the last 31 days."""
    rows = session.execute(_CLOSED, {"c": county, "since": end - 31 * 86_400}).all()
    if not rows:
        return {"history_cases": 0, "history_entries": 0}
    _set_assignees(session, rows, _deadlines(session, rows))
    entries = _entries(np.random.default_rng([seed, int(county), 41]), rows)
    _copy(
        session,
        "event_log",
        ["event_id", "at", "actor", "action", "from_status", "to_status", "note", "data"],
        entries,
    )
    return {"history_cases": len(rows), "history_entries": len(entries)}


def _set_assignees(session: Session, rows: list, deadlines: list[dict]) -> None:
    """Each closed case's assignee (its grid's worker) and deadline, in one statement."""
    # The statement trigger of event_cells (migration 0020) joins its transition tables without an index:
    # 40 s for these 10,000 rows, none of which moves a cell (kind, grid, position and severity stay).
    session.execute(text("ALTER TABLE events DISABLE TRIGGER event_cells_update"))
    session.execute(
        _SET,
        {
            "ids": [r.id for r in rows],
            "ws": [r.worker_id for r in rows],
            "ds": [d["deadline_at"] for d in deadlines],
            "bs": [d["deadline_basis"] for d in deadlines],
            "ys": ["{" + ",".join(str(y) for y in d["deadline_uncovered_years"]) + "}" for d in deadlines],
        },
    )
    session.execute(text("ALTER TABLE events ENABLE TRIGGER event_cells_update"))


_STEPS = (  # (share of the case's time from report to closing, action, from, to)
    (0.10, "start", "dispatched", "in_progress"),
    (0.60, "handle", "in_progress", "handled"),
    (0.90, "verify", "handled", "verified"),
)
_REWORK = ((0.70, "rework", "handled", "in_progress"), (0.80, "handle", "in_progress", "handled"))


def _entries(rng, rows: list) -> list[tuple]:
    """Timeline rows of each case: the steps at their shares of report -> closing, one rework for some."""
    reworked = rng.random(len(rows)) < 0.08
    out = []
    for r, again in zip(rows, reworked, strict=True):
        span = r.closed_at - r.reported_at
        steps = sorted(_STEPS + (_REWORK if again else ()))
        for share, action, before, after in steps:
            note = "整改不到位，请重新处置" if action == "rework" else ""
            out.append((r.id, r.reported_at + span * share, "demo", action, before, after, note, "{}"))
        closing = json.dumps({"closed_at": r.closed_at.isoformat()})
        out.append((r.id, r.closed_at, "demo", "close", "verified", "closed", "", closing))
    return out
