"""The case lifecycle as data: one explicit state machine, after the closed loop of digital city management.

    reported ──register──▶ registered ──assign──▶ dispatched ──start──▶ in_progress ──handle──▶ handled
        │  └──────────assign──────────────────────▲   │                      ▲                  │  │
        │                  │                          └──decline (reason)──▶ registered          │  │
        │                  │                                                  └──rework (reason)─┘  │
        ├──reject / duplicate◀─┘                                             verify (not handler) ◀─┘
        ▼                                                                           │
    rejected, duplicate                                               verified ──close──▶ closed

Who may take a step (`check_step`, object-level authorization): the roles of RULES on any case of
their area, and, where a step says so, the grid worker the case is assigned to, on that case only; a
suspended case (挂账) takes only the steps that end it, move it elsewhere or end the suspension.

Pure functions only: the database work lives in geo.queries.events and geo.queries.dispatch.
"""

from dataclasses import dataclass

from geo import vocabulary
from geo.accounts import VERIFY_STATUSES  # the targets that need the verify permission, as the API checks
from geo.errors import ConflictError, ForbiddenError, TransitionError

STATUS_LABELS = vocabulary.zh(vocabulary.STATUSES)
ESCALATION_LEVELS = ("grid", "village", "township", "county")
ESCALATION_LABELS = vocabulary.zh(vocabulary.LEVELS)
REFERRALS = vocabulary.zh(vocabulary.REFERRALS)

# A worker carries the case while it is in these states (workers.open_tasks counts them).
HOLDS_TASK = frozenset({"dispatched", "in_progress"})
# The deadline clock runs in these states.
CLOCK_RUNS = frozenset({"registered", "dispatched", "in_progress"})
FINAL = frozenset({"closed", "rejected", "duplicate"})
OPEN = frozenset(STATUS_LABELS) - FINAL
ASSIGNABLE = frozenset({"reported", "registered"})
REASSIGNABLE = frozenset({"dispatched", "in_progress"})


@dataclass(frozen=True)
class Transition:
    """One edge of the state machine; `via` is the route that may take it."""

    source: str
    target: str
    action: str
    needs_reason: bool = False
    via: str = "transition"

    @property
    def label(self) -> str:
        """What the step is called (geo.vocabulary.ACTIONS)."""
        return vocabulary.label("action", self.action)


TRANSITIONS: tuple[Transition, ...] = (
    Transition("reported", "registered", "register"),
    Transition("reported", "rejected", "reject", needs_reason=True),
    Transition("reported", "duplicate", "mark_duplicate"),
    Transition("reported", "dispatched", "assign", via="assign"),
    Transition("registered", "rejected", "reject", needs_reason=True),
    Transition("registered", "duplicate", "mark_duplicate"),
    Transition("registered", "dispatched", "assign", via="assign"),
    Transition("dispatched", "registered", "decline", needs_reason=True),
    Transition("dispatched", "in_progress", "start"),
    Transition("in_progress", "handled", "handle"),
    Transition("handled", "in_progress", "rework", needs_reason=True),
    Transition("handled", "verified", "verify"),
    Transition("verified", "closed", "close"),
)
_BY_EDGE = {(t.source, t.target): t for t in TRANSITIONS}


def allowed_next(status: str, via: str = "transition") -> list[str]:
    """The statuses a case in `status` can move to through a route (`transition` or `assign`)."""
    return [t.target for t in TRANSITIONS if t.source == status and t.via == via]


def get_transition(source: str, target: str, via: str = "transition") -> Transition:
    """The edge from `source` to `target`; raise TransitionError listing the allowed targets otherwise."""
    edge = _BY_EDGE.get((source, target))
    if edge is not None and edge.via == via:
        return edge
    allowed = allowed_next(source, via)
    hint = "；派遣请用 /assign" if edge is not None and edge.via == "assign" else ""
    message = (
        f"案件状态为“{STATUS_LABELS.get(source, source)}”({source})，不能转为 {target}；"
        f"可转为：{', '.join(allowed) or '无（已终结）'}{hint}"
    )
    raise TransitionError(message, allowed=allowed, where="to")


def require_reason(edge: Transition, note: str | None) -> None:
    """Declining, rejecting and rework need a reason."""
    if edge.needs_reason and not (note or "").strip():
        raise TransitionError(f"“{edge.label}”须说明理由（note）", allowed=[edge.target], where="note")


def task_delta(source: str, target: str) -> int:
    """How the assignee's open-task count changes on this move: +1, -1 or 0."""
    return int(target in HOLDS_TASK) - int(source in HOLDS_TASK)


def starts_clock(source: str, target: str) -> bool:
    """True when the move registers the case, which sets its deadline."""
    return source == "reported" and target in CLOCK_RUNS


def next_escalation(level: str) -> str:
    """The next level up (grid → village → township → county); ConflictError at the county."""
    index = ESCALATION_LEVELS.index(level)
    if index + 1 >= len(ESCALATION_LEVELS):
        raise ConflictError("案件已在县级，无法继续上报", where="escalation_level")
    return ESCALATION_LEVELS[index + 1]


@dataclass(frozen=True)
class Actor:
    """Who takes a step: account name, role, and the worker row of a grid worker."""

    name: str
    role: str
    worker_id: int | None = None


@dataclass(frozen=True)
class Rule:
    """Who may take a step: `roles` on any case of their area; `assignee`: also the case's own grid
    worker; `while_suspended`: also while the case is suspended (挂账)."""

    roles: frozenset[str]
    assignee: bool = False
    while_suspended: bool = False


_CASEWORK = frozenset({"commander", "dispatcher"})
RULES: dict[str, Rule] = {
    "register": Rule(_CASEWORK),
    "reject": Rule(_CASEWORK, while_suspended=True),
    "mark_duplicate": Rule(_CASEWORK, while_suspended=True),
    "assign": Rule(_CASEWORK),
    "reassign": Rule(_CASEWORK),
    "decline": Rule(_CASEWORK, assignee=True),
    "start": Rule(_CASEWORK, assignee=True),
    "handle": Rule(_CASEWORK, assignee=True),
    "rework": Rule(_CASEWORK),
    "verify": Rule(_CASEWORK),
    "close": Rule(_CASEWORK),
    "escalate": Rule(_CASEWORK, assignee=True, while_suspended=True),
    "refer": Rule(_CASEWORK, while_suspended=True),
    "referral_return": Rule(_CASEWORK, while_suspended=True),
    "whistle": Rule(_CASEWORK, while_suspended=True),
    "extend": Rule(_CASEWORK, while_suspended=True),
    "suspend": Rule(_CASEWORK),
    "resume": Rule(_CASEWORK, while_suspended=True),
}


def check_step(action: str, actor: Actor, *, assignee_id: int | None, suspended: bool) -> None:
    """ForbiddenError unless the actor may take the step on this case (by role, or as its assigned
    grid worker); ConflictError when the case is suspended and the step must wait for it to resume."""
    step = RULES[action]
    label = vocabulary.label("action", action)
    mine = step.assignee and actor.worker_id is not None and actor.worker_id == assignee_id
    if actor.role not in step.roles and not mine:
        if step.assignee and actor.role == "grid_worker":
            raise ForbiddenError(f"网格员只能对派给本人的案件执行“{label}”", where="assignee_id")
        role = vocabulary.label("role", actor.role)
        raise ForbiddenError(f"{role}无权对案件执行“{label}”", where="role")
    if suspended and not step.while_suspended:
        raise ConflictError(f"案件已挂账（暂停计时），须先恢复计时才能“{label}”", where="status")


@dataclass(frozen=True)
class Step:
    """A step the console may offer on a case now: its action, the permission it needs, what the
    person must give (`needs`: reason, worker, department, referral, amount, duplicate_of or nothing),
    and why it cannot be taken by this person (`blocked`), when it is shown but refused."""

    action: str
    permission: str
    needs: str = ""
    blocked: str = ""

    @property
    def label(self) -> str:
        """What the step is called (geo.vocabulary.ACTIONS)."""
        return vocabulary.label("action", self.action)


_DESK_TRANSITIONS = {"register", "reject", "mark_duplicate", "start", "handle", "rework", "verify", "close"}
_NEEDS = {"reject": "reason", "rework": "reason", "mark_duplicate": "duplicate_of"}


def _transition_steps(status: str, handled_by: str | None, actor: str) -> list[Step]:
    steps = []
    for t in TRANSITIONS:
        if t.source != status or t.via != "transition" or t.action not in _DESK_TRANSITIONS:
            continue
        permission = "verify" if t.target in VERIFY_STATUSES else "transition"
        blocked = "核查须由处置人以外的人员进行" if t.action == "verify" and handled_by == actor else ""
        steps.append(Step(t.action, permission, _NEEDS.get(t.action, ""), blocked))
    return steps


def _clock_steps(ev: dict) -> list[Step]:
    if ev.get("suspended_at") is not None:
        return [Step("resume", "deadline")]
    if ev["status"] in CLOCK_RUNS and ev.get("deadline_at") is not None:
        return [Step("extend", "deadline", "amount"), Step("suspend", "deadline", "reason")]
    return []


def desk_steps(ev: dict, actor: Actor) -> list[Step]:
    """Every step the centre's desk can take on a case as it stands, in the order the desk shows them:
    those the rules (RULES, check_step) let this actor take on this case now.

    A referred case waits for the court, police or petition office: it can be taken back (收回) and its
    departments whistled, nothing else. The API checks the same rules again when a step is taken.
    """
    return [s for s in _case_steps(ev, actor.name) if _may(s.action, actor, ev)]


def _may(action: str, actor: Actor, ev: dict) -> bool:
    try:
        check_step(
            action, actor, assignee_id=ev.get("assignee_id"), suspended=ev.get("suspended_at") is not None
        )
    except (ForbiddenError, ConflictError):
        return False
    return True


def _case_steps(ev: dict, actor: str) -> list[Step]:
    status = ev["status"]
    if status in FINAL:
        return []
    if ev.get("referral_status") == "referred":
        return [Step("referral_return", "refer"), Step("whistle", "whistle", "department")]
    steps = _transition_steps(status, ev.get("handled_by"), actor)
    if status in ASSIGNABLE:
        steps.insert(1 if status == "reported" else 0, Step("assign", "assign", "worker"))
    if status in REASSIGNABLE:
        steps.append(Step("reassign", "assign", "worker"))
    if ev.get("escalation_level") != ESCALATION_LEVELS[-1]:
        steps.append(Step("escalate", "escalate"))
    steps += [Step("refer", "refer", "referral"), Step("whistle", "whistle", "department"), *_clock_steps(ev)]
    return steps
