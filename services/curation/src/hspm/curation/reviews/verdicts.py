"""What a finished validation run does to its build's review case.

Only the run of the case's current submission moves it: a judged failure rejects
automatically, a pass or a broken run (nothing judged) goes to an operator. A
scheduled re-validation of a build on offer never withdraws it; a failure flags the
case for an operator, and a later pass lowers that flag.
"""

from __future__ import annotations

import asyncpg

from hspm.common.db import Conn
from hspm.common.events.validator import ValidationCompleted
from hspm.curation import machine
from hspm.curation.actors import VALIDATOR
from hspm.curation.policy.rules import failed_required
from hspm.curation.reviews import service, store

Record = asyncpg.Record


async def follow(conn: Conn, run: Record, report: ValidationCompleted) -> None:
    """Apply ``report`` of ``run`` (just finished) to the case of its build, if it moves it."""
    case = await store.lock_case_of_build(conn, run["build_id"])
    if case is None:
        return
    if run["trigger"] == "submission":
        if case["current_run_id"] == run["id"] and case["state"] == "validating":
            await _judge(conn, case, report)
    elif run["trigger"] == "scheduled" and case["state"] in machine.ON_OFFER:
        await _watch(conn, case, report)


def _failures(report: ValidationCompleted) -> str:
    failed = failed_required(report.rules)
    if not failed:
        return "The validator judged the build failed."
    return f"Required rules failed: {', '.join(failed)}."


async def _judge(conn: Conn, case: Record, report: ValidationCompleted) -> None:
    target = machine.after_validation(report.outcome)
    if report.outcome == "failed":
        step = service.Step(target, VALIDATOR, machine.LABELS[target], _failures(report), report.run_id)
        await service.move(conn, case, step)
    elif report.outcome == "passed":
        step = service.Step(target, VALIDATOR, machine.LABELS[target], report.summary or None, report.run_id)
        await service.move(conn, case, step)
    else:
        why = f"The validation run could not judge the build: {report.error or 'no reason given'}"
        step = service.Step(target, VALIDATOR, machine.VALIDATION_ERROR, why, report.run_id)
        await service.move(conn, case, step, attention=why)


async def _watch(conn: Conn, case: Record, report: ValidationCompleted) -> None:
    state = case["state"]
    if report.outcome == "failed":
        why = _failures(report)
        step = service.Step(state, VALIDATOR, machine.REVALIDATION_FAILED, why, report.run_id)
        await service.note(conn, case, step, attention=why)
    elif report.outcome == "passed" and case["attention"]:
        step = service.Step(
            state, VALIDATOR, machine.REVALIDATION_PASSED, report.summary or None, report.run_id
        )
        await service.note(conn, case, step, attention=None)
