"""Object-level authorization: every step of a case × every role × every state, through the API.

The expected answer of each combination comes from the table below (written from the rules, not from
geo.lifecycle): the route's role (403), the state machine (409), the step's roles or the case's own grid
worker (403: a grid worker never moves another worker's case), and suspension (409: a suspended case
only ends, moves elsewhere or resumes). The case is put in each state directly before each request.
"""

from datetime import timedelta

import pytest
from sqlalchemy import text

from geo import clock
from geo.lifecycle import TRANSITIONS
from tests.dispatch_client import make_tiny
from tests.dispatch_tiny import add_event

CASEWORK = {"commander", "dispatcher"}
STATUSES = (
    "reported",
    "registered",
    "dispatched",
    "in_progress",
    "handled",
    "verified",
    "closed",
    "rejected",
    "duplicate",
)
ASSIGNED = {"dispatched", "in_progress", "handled", "verified", "closed"}
RUNNING = {"registered", "dispatched", "in_progress"}  # the deadline clock runs: may be suspended
OPEN = set(STATUSES) - {"closed", "rejected", "duplicate"}
# Who asks: role, and for grid workers whether the case is their own.
ACTORS = {
    "commander": ("commander", None),
    "dispatcher": ("dispatcher", None),
    "planner": ("planner", None),
    "department": ("department", None),
    "sysadmin": ("sysadmin", None),
    "secadmin": ("secadmin", None),
    "auditor": ("auditor", None),
    "worker_own": ("grid_worker", "village"),
    "worker_other": ("grid_worker", "skilled"),
}
# The route's own permission (api.permissions), before the case is looked at.
ROUTE_ROLES = {
    "transition": CASEWORK | {"grid_worker"},
    "verify": CASEWORK,
    "escalate": CASEWORK | {"grid_worker"},
}
VERIFY_TARGETS = {"verified", "closed", "rejected", "duplicate"}
# step -> (roles that may take it on any case of their area, the own grid worker may too, allowed suspended)
STEP_RULES = {
    "register": (CASEWORK, False, False),
    "reject": (CASEWORK, False, True),
    "mark_duplicate": (CASEWORK, False, True),
    "decline": (CASEWORK, True, False),
    "start": (CASEWORK, True, False),
    "handle": (CASEWORK, True, False),
    "rework": (CASEWORK, False, False),
    "verify": (CASEWORK, False, False),
    "close": (CASEWORK, False, False),
    "assign": (CASEWORK, False, False),
    "reassign": (CASEWORK, False, False),
    "escalate": (CASEWORK, True, True),
    "refer": (CASEWORK, False, True),
    "whistle": (CASEWORK, False, True),
    "extend": (CASEWORK, False, True),
    "suspend": (CASEWORK, False, False),
    "resume": (CASEWORK, False, True),
}
# Steps other than transitions: route permission, and the states that allow them.
OTHER_STEPS = {
    "assign": ("assign", {"reported", "registered"}),
    "reassign": ("assign", {"dispatched", "in_progress"}),
    "escalate": ("escalate", OPEN),
    "refer": ("refer", OPEN),
    "whistle": ("whistle", OPEN),
    "extend": ("deadline", RUNNING),
    "suspend": ("deadline", RUNNING),
    "resume": ("deadline", RUNNING),
}
STATES = [(s, False) for s in STATUSES] + [(s, True) for s in sorted(RUNNING)]


def expected(step: str, route: str, actor: str, status: str, suspended: bool, allowed: bool) -> int:
    """The answer the rules give."""
    role, whose = ACTORS[actor]
    if role not in ROUTE_ROLES.get(route, CASEWORK):
        return 403
    roles, own_ok, while_suspended = STEP_RULES[step]
    is_transition = route in ("transition", "verify")
    if is_transition and not allowed:
        return 409
    if role not in roles and not (own_ok and whose == "village" and status in ASSIGNED):
        return 403
    if suspended and not while_suspended:
        return 409
    if not is_transition and not allowed:
        return 409
    if step == "resume" and not suspended or step == "suspend" and suspended:
        return 409
    return 200


@pytest.fixture(scope="module")
def world(pg_server, empty_db_url):
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from tests.conftest import create_database

    url = create_database(pg_server, "gridgov_sec_transitions", "gridgov_empty")
    engine = create_engine(url)
    with Session(engine) as session:
        tiny = make_tiny(session)
        original = add_event(session.connection(), status="registered")
        session.commit()
        users = {}
        for key, (role, worker) in ACTORS.items():
            dept = tiny.ids["court"] if role == "department" else None  # a department account has one
            tiny.act_as(
                f"u_{key}", role=role, worker_id=tiny.ids[worker] if worker else None, department_id=dept
            )
            users[key] = tiny.user[0]
        yield tiny, users, original
    engine.dispose()


def _put(tiny, status: str, suspended: bool) -> None:
    """The case in `status` (assigned to the grid worker 'village' where a state has an assignee), with no
    department tasks."""
    ids, now = tiny.ids, clock.now()
    tiny.session.execute(text("UPDATE workers SET open_tasks = 0"))
    # No department task left open by an earlier whistle (a case takes one per department).
    tiny.session.execute(text("DELETE FROM whistles WHERE event_id = :id"), {"id": ids["event"]})
    tiny.session.execute(
        text(
            "UPDATE events SET status = :s, assignee_id = :w, suspended_at = :susp, deadline_at = :d, "
            "handled_by = 'someone_else', referral = NULL, referral_status = NULL, escalation_level = 'grid' "
            "WHERE id = :id"
        ),
        {
            "s": status,
            "w": ids["village"] if status in ASSIGNED else None,
            "susp": now - timedelta(hours=1) if suspended else None,
            "d": now + timedelta(days=3) if status in RUNNING else None,
            "id": ids["event"],
        },
    )
    tiny.session.commit()


def _request(tiny, step: str, target: str | None, original: int):
    ids, case = tiny.ids, f"/api/events/{tiny.ids['event']}"
    note = {"note": "理由"}
    calls = {
        "assign": ("assign", {"worker_id": ids["township"]}),
        "reassign": ("assign", {"worker_id": ids["township"], "reassign": True}),
        "escalate": ("escalate", note),
        "refer": ("refer", {"to": "court"}),
        "whistle": ("whistle", {"department_id": ids["court"]}),
        "extend": ("extend", {"hours": 2, "reason": "等材料"}),
        "suspend": ("suspend", {"reason": "等材料"}),
        "resume": ("resume", note),
    }
    path, body = calls.get(step, ("transition", {"to": target, "duplicate_of": original, **note}))
    return tiny.client.post(f"{case}/{path}", json=body)


EDGES = {(t.source, t.target): t.action for t in TRANSITIONS if t.via == "transition"}
TARGETS = sorted({t for _, t in EDGES})


def _step(name: str, status: str) -> tuple[str, str, str | None, bool]:
    """(step, route, target, allowed in this state) of a case: `to:TARGET` (a transition) or a step."""
    if name.startswith("to:"):
        target = name[3:]
        step = EDGES.get((status, target), "register")  # no edge: refused before the step matters
        return step, "verify" if target in VERIFY_TARGETS else "transition", target, (status, target) in EDGES
    route, states = OTHER_STEPS[name]
    return name, route, None, status in states


@pytest.mark.parametrize("name", [f"to:{t}" for t in TARGETS] + sorted(OTHER_STEPS))
def test_every_step_by_every_role_in_every_state(world, name):
    tiny, users, original = world
    wrong = []
    for status, suspended in STATES:
        step, route, target, allowed = _step(name, status)
        for actor, user in users.items():
            _put(tiny, status, suspended)
            tiny.user[0] = user
            resp = _request(tiny, step, target, original)
            got = 200 if resp.status_code in (200, 201) else resp.status_code
            want = expected(step, route, actor, status, suspended, allowed)
            if got != want:
                wrong.append(
                    f"{actor} {step} in {status}{' (suspended)' if suspended else ''}: {got} != {want} {resp.text[:120]}"
                )
    assert wrong == []
