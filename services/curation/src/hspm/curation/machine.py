"""The review case of one build as an explicit state machine (ADR 12).

Pure data and functions: which state may follow which, which operator decision leads
where, and the provenance labels (after the spec's exemplar build label). Everything
that moves a case asks this module first.
"""

from __future__ import annotations

from typing import Literal, get_args

State = Literal[
    "submitted",
    "validating",
    "awaiting_review",
    "auto_rejected",
    "approved",
    "rejected",
    "changes_requested",
    "published",
    "deprecated",
    "withdrawn",
    "recalled",
]
Decision = Literal["approve", "reject", "request_changes", "deprecate", "withdraw"]

STATES: tuple[State, ...] = get_args(State)
DECISIONS: tuple[Decision, ...] = get_args(Decision)

# The whole machine. A state missing from a value set cannot follow that key.
TRANSITIONS: dict[State, frozenset[State]] = {
    "submitted": frozenset({"validating"}),
    "validating": frozenset({"awaiting_review", "auto_rejected"}),
    "awaiting_review": frozenset({"approved", "rejected", "changes_requested"}),
    "auto_rejected": frozenset({"submitted"}),
    "rejected": frozenset({"submitted"}),
    "changes_requested": frozenset({"submitted"}),
    "approved": frozenset({"published"}),
    "published": frozenset({"deprecated", "withdrawn", "recalled"}),
    "deprecated": frozenset({"withdrawn", "recalled"}),
    "withdrawn": frozenset(),
    "recalled": frozenset(),
}

# What an operator's decision asks for; legal only where the machine allows that state.
DECISION_TARGETS: dict[Decision, State] = {
    "approve": "approved",
    "reject": "rejected",
    "request_changes": "changes_requested",
    "deprecate": "deprecated",
    "withdraw": "withdrawn",
}
# Decisions that must say why: the ISV (and the platforms) read the reason.
REASON_REQUIRED: frozenset[Decision] = frozenset({"reject", "request_changes", "withdraw"})

# A resubmission reopens the case from these; a first submission has no state.
RESUBMITTABLE: frozenset[State] = frozenset(s for s, nxt in TRANSITIONS.items() if "submitted" in nxt)
# Builds on offer: a recall may reach them; scheduled re-validation watches them.
ON_OFFER: frozenset[State] = frozenset({"published", "deprecated"})
TERMINAL: frozenset[State] = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)

# Provenance labels, in the words of the spec's exemplar build label where it has them.
LABELS: dict[State, str] = {
    "submitted": "Build submitted",
    "validating": "Submission received",
    "awaiting_review": "Validation passed",
    "auto_rejected": "Rejected automatically",
    "approved": "Approved",
    "rejected": "Rejected",
    "changes_requested": "Changes requested",
    "published": "Published",
    "deprecated": "Deprecated",
    "withdrawn": "Withdrawn",
    "recalled": "Recalled",
}
RESUBMITTED = "Build resubmitted"
VALIDATION_ERROR = "Validation could not run"
REVALIDATION_FAILED = "Re-validation failed"
REVALIDATION_PASSED = "Re-validation passed"
UNPULLABLE = "Approved image no longer pullable"
DELETED = "Build deleted"


class IllegalTransition(ValueError):
    """A move the machine does not allow; ``allowed`` names what would be."""

    def __init__(self, current: State | None, target: State, allowed: tuple[str, ...]) -> None:
        self.current, self.target, self.allowed = current, target, allowed
        super().__init__(f"{current or 'nothing'} cannot become {target}")


def can_move(current: State | None, target: State) -> bool:
    """Whether ``target`` may follow ``current`` (None: the case does not exist yet)."""
    if current is None:
        return target == "submitted"
    return target in TRANSITIONS[current]


def check_move(current: State | None, target: State) -> None:
    """Raise ``IllegalTransition`` unless ``target`` may follow ``current``."""
    if not can_move(current, target):
        allowed = ("submitted",) if current is None else tuple(sorted(TRANSITIONS[current]))
        raise IllegalTransition(current, target, allowed)


def allowed_decisions(current: State) -> tuple[Decision, ...]:
    """The operator decisions open in ``current``, in a stable order."""
    return tuple(d for d in DECISIONS if DECISION_TARGETS[d] in TRANSITIONS[current])


def decide(current: State, decision: Decision) -> State:
    """The state ``decision`` leads to from ``current``; ``IllegalTransition`` names the open ones."""
    target = DECISION_TARGETS[decision]
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(current, target, allowed_decisions(current))
    return target


def after_validation(outcome: Literal["passed", "failed", "error"]) -> State:
    """Where a submission's run sends the case: only a judged failure rejects on its own.

    ``error`` means nothing was judged (our failure, not the ISV's): a person decides.
    """
    return "auto_rejected" if outcome == "failed" else "awaiting_review"
