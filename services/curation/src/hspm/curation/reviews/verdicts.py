"""What a finished validation run does to its build's review case (pure: no I/O).

Only the run of the case's current submission moves it: a judged failure rejects
automatically, a pass or a broken run (nothing judged) goes to an operator. A
scheduled re-validation of a build on offer never withdraws it; a failure flags the
case for an operator, and a later pass lowers that flag.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from hspm.common.events.validator import ValidationCompleted
from hspm.curation import machine
from hspm.curation.actors import VALIDATOR
from hspm.curation.reviews.steps import Step


class Row(Protocol):
    """A case or run row (an ``asyncpg.Record``, or a plain dict in a test)."""

    def __getitem__(self, key: str, /) -> Any: ...


@dataclass(frozen=True)
class Verdict:
    """The step to take; ``moves`` is False for a note that leaves the state as it is."""

    step: Step
    attention: str | None
    moves: bool


def of(case: Row, run: Row, report: ValidationCompleted, failed: Sequence[str]) -> Verdict | None:
    """The verdict of ``report`` (of ``run``, just finished) on ``case``, if it has one.

    ``failed`` names the report's rules that reject a build (required, failed, not waived).
    """
    if run["trigger"] == "submission":
        if case["current_run_id"] == run["id"] and case["state"] == "validating":
            return _judge(report, failed)
    elif run["trigger"] == "scheduled" and case["state"] in machine.ON_OFFER:
        return _watch(case, report, failed)
    return None


def _failures(failed: Sequence[str]) -> str:
    if not failed:
        return "The validator judged the build failed."
    return f"Required rules failed: {', '.join(failed)}."


def _judge(report: ValidationCompleted, failed: Sequence[str]) -> Verdict:
    target = machine.after_validation(report.outcome)
    if report.outcome == "failed":
        step = Step(target, VALIDATOR, machine.LABELS[target], _failures(failed), report.run_id)
        return Verdict(step, None, moves=True)
    if report.outcome == "passed":
        step = Step(target, VALIDATOR, machine.LABELS[target], report.summary or None, report.run_id)
        return Verdict(step, None, moves=True)
    why = f"The validation run could not judge the build: {report.error or 'no reason given'}"
    return Verdict(Step(target, VALIDATOR, machine.VALIDATION_ERROR, why, report.run_id), why, moves=True)


def _watch(case: Row, report: ValidationCompleted, failed: Sequence[str]) -> Verdict | None:
    state = case["state"]
    if report.outcome == "failed":
        why = _failures(failed)
        step = Step(state, VALIDATOR, machine.REVALIDATION_FAILED, why, report.run_id)
        return Verdict(step, why, moves=False)
    gone = _unpullable(case, report)
    if gone is not None:
        # Even where the operator does not require the rule: the approved bytes are gone.
        return Verdict(Step(state, VALIDATOR, machine.UNPULLABLE, gone, report.run_id), gone, moves=False)
    if report.outcome == "passed" and case["attention"]:
        step = Step(state, VALIDATOR, machine.REVALIDATION_PASSED, report.summary or None, report.run_id)
        return Verdict(step, None, moves=False)
    return None


def _unpullable(case: Row, report: ValidationCompleted) -> str | None:
    """Why the pinned image could not be pulled, when ``image.resolvable`` failed."""
    for r in report.rules:
        if r.rule == "image.resolvable" and r.status == "fail":
            image = case["image_digest"] or "the approved image"
            return f"{image} can no longer be pulled: {r.evidence or 'no reason given'}"
    return None
