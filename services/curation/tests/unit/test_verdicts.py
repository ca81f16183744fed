"""What a finished run's report does to its case: only the submission's run moves it."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest

from hspm.common.events.validator import RuntimeVerdict, ValidationCompleted
from hspm.curation.reviews import verdicts


def run(trigger: str, run_id: UUID | None = None) -> dict[str, Any]:
    return {"id": run_id or uuid4(), "trigger": trigger}


def case(state: str, current_run_id: UUID | None = None, attention: bool = False) -> dict[str, Any]:
    return {"state": state, "current_run_id": current_run_id, "attention": attention}


def report(run_id: UUID, outcome: str, **kw: Any) -> ValidationCompleted:
    return ValidationCompleted(
        run_id=run_id,
        build_id=uuid4(),
        product_id=uuid4(),
        outcome=outcome,
        runtime=RuntimeVerdict(status="ran"),
        producer="validator",
        **kw,
    )


def submission(outcome: str, failed: tuple[str, ...] = (), **kw: Any) -> verdicts.Verdict | None:
    r = run("submission")
    return verdicts.of(case("validating", r["id"]), r, report(r["id"], outcome, **kw), failed)


def test_a_judged_failure_rejects_naming_the_rules() -> None:
    verdict = submission("failed", ("image.platform", "user.non_root"))
    assert verdict is not None and verdict.moves and verdict.attention is None
    assert verdict.step.to == "auto_rejected" and verdict.step.event == "Rejected automatically"
    assert verdict.step.remark == "Required rules failed: image.platform, user.non_root."
    assert verdict.step.actor.kind == "validator"


def test_a_failure_without_named_rules_still_says_why() -> None:
    verdict = submission("failed")
    assert verdict is not None and verdict.step.remark == "The validator judged the build failed."


def test_a_pass_goes_to_an_operator_with_the_summary() -> None:
    verdict = submission("passed", summary="All good.")
    assert verdict is not None and verdict.moves and verdict.attention is None
    assert (verdict.step.to, verdict.step.event, verdict.step.remark) == (
        "awaiting_review",
        "Validation passed",
        "All good.",
    )


def test_a_broken_run_goes_to_an_operator_flagged() -> None:
    verdict = submission("error", error="registry timed out")
    assert verdict is not None and verdict.moves and verdict.step.to == "awaiting_review"
    assert verdict.step.event == "Validation could not run"
    assert verdict.attention == "The validation run could not judge the build: registry timed out"


@pytest.mark.parametrize("state", ["submitted", "awaiting_review", "auto_rejected", "published"])
def test_a_submission_run_moves_only_a_validating_case(state: str) -> None:
    r = run("submission")
    assert verdicts.of(case(state, r["id"]), r, report(r["id"], "failed"), ()) is None


def test_an_earlier_submissions_run_moves_nothing() -> None:
    r = run("submission")
    assert verdicts.of(case("validating", uuid4()), r, report(r["id"], "failed"), ()) is None


@pytest.mark.parametrize("state", ["published", "deprecated"])
def test_a_scheduled_failure_on_offer_flags_without_moving(state: str) -> None:
    r = run("scheduled")
    verdict = verdicts.of(case(state), r, report(r["id"], "failed"), ("image.resolvable",))
    assert verdict is not None and not verdict.moves and verdict.step.to == state
    assert verdict.step.event == "Re-validation failed"
    assert verdict.attention == "Required rules failed: image.resolvable."


def test_a_scheduled_pass_lowers_a_raised_flag_only() -> None:
    r = run("scheduled")
    lowered = verdicts.of(case("published", attention=True), r, report(r["id"], "passed"), ())
    assert lowered is not None and not lowered.moves and lowered.attention is None
    assert lowered.step.event == "Re-validation passed"
    assert verdicts.of(case("published"), r, report(r["id"], "passed"), ()) is None


@pytest.mark.parametrize("state", ["approved", "withdrawn", "recalled", "awaiting_review"])
def test_a_scheduled_run_of_a_build_not_on_offer_does_nothing(state: str) -> None:
    r = run("scheduled")
    assert verdicts.of(case(state), r, report(r["id"], "failed"), ("x",)) is None


@pytest.mark.parametrize("outcome", ["passed", "failed", "error"])
def test_a_manual_run_never_touches_the_case(outcome: str) -> None:
    r = run("manual")
    assert verdicts.of(case("published", r["id"]), r, report(r["id"], outcome), ("x",)) is None
