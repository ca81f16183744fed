"""The review state machine, exhaustively: every pair of states, every decision in every state."""

from __future__ import annotations

import itertools

import pytest

from hspm.curation import machine
from hspm.curation.machine import STATES, IllegalTransition

# The machine as ADR 12 states it, written out independently of the module's table.
ALLOWED = {
    ("submitted", "validating"),
    ("validating", "awaiting_review"),
    ("validating", "auto_rejected"),
    ("awaiting_review", "approved"),
    ("awaiting_review", "rejected"),
    ("awaiting_review", "changes_requested"),
    ("approved", "published"),
    ("published", "deprecated"),
    ("published", "withdrawn"),
    ("published", "recalled"),
    ("deprecated", "withdrawn"),
    ("deprecated", "recalled"),
    ("auto_rejected", "submitted"),
    ("rejected", "submitted"),
    ("changes_requested", "submitted"),
}
OPEN_DECISIONS = {
    "awaiting_review": ("approve", "reject", "request_changes"),
    "published": ("deprecate", "withdraw"),
    "deprecated": ("withdraw",),
}


@pytest.mark.parametrize(("current", "target"), list(itertools.product(STATES, STATES)))
def test_every_pair(current, target) -> None:
    legal = (current, target) in ALLOWED
    assert machine.can_move(current, target) is legal
    if legal:
        machine.check_move(current, target)
    else:
        with pytest.raises(IllegalTransition) as info:
            machine.check_move(current, target)
        assert info.value.allowed == tuple(sorted(t for c, t in ALLOWED if c == current))


@pytest.mark.parametrize("target", STATES)
def test_a_case_begins_only_submitted(target) -> None:
    assert machine.can_move(None, target) is (target == "submitted")


def test_the_table_covers_every_state() -> None:
    assert set(machine.TRANSITIONS) == set(STATES)
    assert {"withdrawn", "recalled"} == machine.TERMINAL
    assert {"auto_rejected", "rejected", "changes_requested"} == machine.RESUBMITTABLE
    assert {"published", "deprecated"} == machine.ON_OFFER
    assert set(machine.LABELS) == set(STATES)


@pytest.mark.parametrize(("state", "decision"), list(itertools.product(STATES, machine.DECISIONS)))
def test_every_decision_in_every_state(state, decision) -> None:
    open_here = OPEN_DECISIONS.get(state, ())
    assert machine.allowed_decisions(state) == open_here
    if decision in open_here:
        assert machine.decide(state, decision) == machine.DECISION_TARGETS[decision]
    else:
        with pytest.raises(IllegalTransition) as info:
            machine.decide(state, decision)
        assert info.value.allowed == open_here


def test_reasons_are_required_to_send_back_or_withdraw() -> None:
    assert {"reject", "request_changes", "withdraw"} == machine.REASON_REQUIRED


@pytest.mark.parametrize(
    ("outcome", "state"),
    [("passed", "awaiting_review"), ("failed", "auto_rejected"), ("error", "awaiting_review")],
)
def test_after_validation(outcome, state) -> None:
    assert machine.after_validation(outcome) == state
