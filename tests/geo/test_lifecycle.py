"""The case state machine as data: allowed moves, reasons, task counting, escalation."""

import pytest

from geo import lifecycle
from geo.errors import ConflictError, TransitionError
from geo.models import EVENT_STATUSES


def test_every_status_has_a_label_and_every_edge_joins_known_statuses():
    assert set(lifecycle.STATUS_LABELS) == set(EVENT_STATUSES)
    for edge in lifecycle.TRANSITIONS:
        assert edge.source in EVENT_STATUSES and edge.target in EVENT_STATUSES


def test_the_main_loop_runs_from_reported_to_closed():
    path = ["reported", "registered", "dispatched", "in_progress", "handled", "verified", "closed"]
    for source, target in zip(path, path[1:], strict=False):
        via = "assign" if target == "dispatched" else "transition"
        assert lifecycle.get_transition(source, target, via).target == target


@pytest.mark.parametrize("final", sorted(lifecycle.FINAL))
def test_final_statuses_have_no_way_out(final):
    assert lifecycle.allowed_next(final) == []
    assert lifecycle.allowed_next(final, "assign") == []


def test_illegal_transition_lists_allowed_targets():
    with pytest.raises(TransitionError) as err:
        lifecycle.get_transition("reported", "closed")
    assert err.value.allowed == ["registered", "rejected", "duplicate"]
    assert isinstance(err.value, ConflictError)
    assert "closed" in err.value.message


def test_dispatch_is_only_through_assign():
    with pytest.raises(TransitionError) as err:
        lifecycle.get_transition("registered", "dispatched")
    assert "/assign" in err.value.message
    assert lifecycle.allowed_next("registered", "assign") == ["dispatched"]


@pytest.mark.parametrize(
    ("source", "target"), [("handled", "in_progress"), ("dispatched", "registered"), ("reported", "rejected")]
)
def test_rework_decline_and_reject_need_a_reason(source, target):
    edge = lifecycle.get_transition(source, target)
    with pytest.raises(TransitionError):
        lifecycle.require_reason(edge, "  ")
    lifecycle.require_reason(edge, "材料不全")


@pytest.mark.parametrize(
    ("source", "target", "delta"),
    [
        ("registered", "dispatched", 1),
        ("dispatched", "in_progress", 0),
        ("in_progress", "handled", -1),
        ("handled", "in_progress", 1),
        ("dispatched", "registered", -1),
        ("verified", "closed", 0),
    ],
)
def test_task_delta_counts_open_tasks_while_a_worker_holds_the_case(source, target, delta):
    assert lifecycle.task_delta(source, target) == delta


def test_registration_starts_the_clock_but_rework_does_not():
    assert lifecycle.starts_clock("reported", "registered")
    assert lifecycle.starts_clock("reported", "dispatched")
    assert not lifecycle.starts_clock("handled", "in_progress")
    assert not lifecycle.starts_clock("dispatched", "registered")


def test_escalation_climbs_to_the_county_and_stops():
    assert [lifecycle.next_escalation(level) for level in ("grid", "village", "township")] == [
        "village",
        "township",
        "county",
    ]
    with pytest.raises(ConflictError):
        lifecycle.next_escalation("county")
