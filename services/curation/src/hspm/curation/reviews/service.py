"""Rules of review cases: moving them (provenance and event included), decisions, reading.

Every change of state goes through :func:`move`: the machine says whether it is legal,
the case row changes, a provenance entry is appended and (unless told otherwise)
``curation.build.review_changed`` is queued, all in the caller's transaction.

Reviews drive the other areas: a submission records the build in the catalog copy and
requests its run; a finished run's report moves the case (see ``verdicts``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID, uuid4

import asyncpg
import structlog

from hspm.common.auth import Principal
from hspm.common.db import Conn
from hspm.common.errors import Conflict, NotFound
from hspm.common.events import catalog, curation
from hspm.common.events.validator import ValidationCompleted
from hspm.common.paging import PageParams
from hspm.curation import access, machine
from hspm.curation.actors import SYSTEM, Actor
from hspm.curation.catalog_copy import service as copy
from hspm.curation.events import emit
from hspm.curation.policy import service as policy
from hspm.curation.reviews import models, store, verdicts
from hspm.curation.reviews.steps import Step
from hspm.curation.validations import service as validations

log = structlog.get_logger(__name__)
Record = asyncpg.Record
Filters = store.Filters
CASE_SORTS = ("submitted_at", "updated_at", "created_at")
QueueFull = validations.QueueFull


async def record(conn: Conn, case_id: UUID, from_state: str | None, step: Step) -> None:
    """Append ``step`` to the case's provenance (never changed afterwards)."""
    await store.append(
        conn,
        {
            "case_id": case_id,
            "actor_kind": step.actor.kind,
            "actor_id": step.actor.id,
            "actor_name": step.actor.name,
            "from_state": from_state,
            "to_state": step.to,
            "event": step.event,
            "remark": step.remark,
            "run_id": step.run_id,
            "recall_id": step.recall_id,
            "badge_ids": list(step.badge_ids),
        },
    )


async def move(
    conn: Conn,
    case: Record,
    step: Step,
    *,
    attention: str | None = None,
    validated: bool = False,
    announce: bool = True,
) -> Record:
    """Take ``case`` (locked) to ``step.to``: state, provenance and, if ``announce``, the event.

    Raises ``machine.IllegalTransition`` when the machine does not allow the move.
    ``attention`` flags the new state for an operator; any move clears an older flag.
    The event carries the case's pinned digest (None until a report pinned one).
    """
    machine.check_move(case["state"], step.to)
    moved = await store.set_state(conn, case["id"], step.to, attention)
    await record(conn, case["id"], case["state"], step)
    if announce:
        await emit(
            conn,
            curation.BuildReviewChanged(
                build_id=case["build_id"],
                product_id=case["product_id"],
                state=step.to,
                reason=step.remark,
                validated=validated,
                badge_ids=list(step.badge_ids),
                image_digest=case["image_digest"],
            ),
        )
    log.info("review.moved", case_id=str(case["id"]), from_state=case["state"], to_state=step.to)
    return moved


async def note(conn: Conn, case: Record, step: Step, attention: str | None) -> None:
    """A provenance entry that does not change the state (a re-validation's verdict)."""
    await store.set_attention(conn, case["id"], attention)
    await record(conn, case["id"], case["state"], step)


# --- the catalog's builds ----------------------------------------------------------------


async def submitted(conn: Conn, event: catalog.BuildSubmitted) -> None:
    """Open (or reopen) the case, request the submission's run, move it to validating."""
    if not await _accepts_submission(conn, event.build_id) or await _deleted(conn, event.build_id):
        return
    build = await copy.record_submission(conn, event)
    case = await _open_case(conn, event.build_id, event.product_id, event.owner_id)
    run = await validations.request_run(conn, build, "submission", SYSTEM)
    await _start_validation(conn, case, run["id"])


async def _accepts_submission(conn: Conn, build_id: UUID) -> bool:
    """A first submission, or a resubmission of a build sent back (rejected in any way)."""
    case = await store.lock_case_of_build(conn, build_id)
    if case is None or (case["state"] in machine.RESUBMITTABLE and case["deleted_at"] is None):
        return True
    log.warning("review.submission_ignored", build_id=str(build_id), state=case["state"])
    return False


async def _deleted(conn: Conn, build_id: UUID) -> bool:
    """The catalog deleted the build: a late event about it changes nothing."""
    build = await copy.get_build(conn, build_id)
    return build is not None and build["deleted_at"] is not None


async def draft_changed(conn: Conn, event: catalog.BuildDraftChanged) -> None:
    """An editable build's packaging: the copy follows it (for dry runs); no case opens or moves.

    Only while the build is editable (no case yet, or sent back): a draft event that
    arrives after the build was submitted again is stale and ignored.
    """
    case = await store.lock_case_of_build(conn, event.build_id)
    if case is not None and case["state"] not in machine.RESUBMITTABLE:
        log.info("review.draft_ignored", build_id=str(event.build_id), state=case["state"])
        return
    if not await _deleted(conn, event.build_id):
        await copy.record_draft(conn, event)


async def _open_case(conn: Conn, build_id: UUID, product_id: UUID, owner_id: UUID) -> Record:
    """A new case in ``submitted``, or the same case reopened by a resubmission."""
    case = await store.lock_case_of_build(conn, build_id)
    owner = Actor.owner(owner_id)
    if case is None:
        case = await store.insert_case(conn, uuid4(), build_id, product_id)
        await record(conn, case["id"], None, Step("submitted", owner, machine.LABELS["submitted"]))
        return case
    machine.check_move(case["state"], "submitted")
    reopened = await store.reopen_case(conn, case["id"])
    remark = f"Submission {reopened['submission']}."
    await record(conn, case["id"], case["state"], Step("submitted", owner, machine.RESUBMITTED, remark))
    return reopened


async def _start_validation(conn: Conn, case: Record, run_id: UUID) -> Record:
    """``submitted → validating`` with the submission's run; the one event of a submission.

    The catalog set ``submitted`` itself, and two events from one transaction may be
    published in either order, so only the state the case rests in is announced.
    """
    await store.set_current_run(conn, case["id"], run_id)
    step = Step(
        "validating", SYSTEM, machine.LABELS["validating"], f"Validation run {run_id} requested.", run_id
    )
    return await move(conn, case, step)


async def published(conn: Conn, event: catalog.BuildPublished) -> None:
    """The catalog published an approved build: ``approved → published``."""
    await copy.set_published(conn, event.build_id, event.published_at)
    case = await store.lock_case_of_build(conn, event.build_id)
    if case is None or case["deleted_at"] is not None or not machine.can_move(case["state"], "published"):
        state = case["state"] if case else None
        log.info("review.publication_ignored", build_id=str(event.build_id), state=state)
        return
    await move(conn, case, Step("published", SYSTEM, machine.LABELS["published"]))


async def build_deleted(conn: Conn, event: catalog.BuildDeleted) -> None:
    """Tombstone the build and its case: hidden from queues and owners, history kept."""
    if await copy.delete_build(conn, event.build_id):
        await _tombstone(conn, [event.build_id])


async def product_deleted(conn: Conn, event: catalog.ProductDeleted) -> None:
    """Tombstone the product, its builds and their cases; recalls and provenance stay."""
    await _tombstone(conn, await copy.delete_product(conn, event.product_id))


async def _tombstone(conn: Conn, build_ids: Sequence[UUID]) -> None:
    for case in await store.tombstone(conn, build_ids):
        step = Step(case["state"], SYSTEM, machine.DELETED, "The catalog deleted the build.")
        await record(conn, case["id"], case["state"], step)


# --- the validator's reports -----------------------------------------------------------------


async def report_received(conn: Conn, report: ValidationCompleted) -> None:
    """Store the report (once), let it move its case, then release waiting runs (a slot is free)."""
    await _apply(conn, report)
    await validations.release_waiting(conn)


async def _apply(conn: Conn, report: ValidationCompleted) -> None:
    """The report's effect on its case; a move pins the digest the run judged."""
    run = await validations.complete(conn, report)
    if run is None:
        return
    case = await store.lock_case_of_build(conn, run["build_id"])
    if case is None or case["deleted_at"] is not None:
        return
    verdict = verdicts.of(case, run, report, policy.failed_required(report.rules))
    if verdict is None:
        return
    if verdict.moves:
        # Only a submission's run moves a case: what it resolved is what was judged.
        pinned = await store.pin_digest(conn, case["id"], report.digest)
        await move(conn, pinned, verdict.step, attention=verdict.attention)
    else:
        await note(conn, case, verdict.step, verdict.attention)


@dataclass(frozen=True)
class Pass:
    """What one scheduled pass did (``skipped``: another replica's pass was running)."""

    requested: int = 0
    expired: int = 0
    skipped: bool = False


async def revalidate(conn: Conn, interval: float, timeout: float, batch: int) -> Pass:
    """Close lost runs, then request a run for every build due; another replica's pass wins.

    A lost run is closed as a run that judged nothing, with the same effect on its case
    as a real error report.
    """
    if not await validations.try_scheduler_lock(conn):
        return Pass(skipped=True)
    stale = await validations.stale_runs(conn, timeout, batch)
    for run in stale:
        await _apply(conn, validations.expiry(run, timeout))
    due = await validations.due_for_revalidation(conn, interval, batch)
    for build in due:
        # The approved bytes, not whatever the tag names today.
        case = await store.case_of_build(conn, build["id"])
        pin = case["image_digest"] if case is not None else None
        await validations.request_run(conn, build, "scheduled", SYSTEM, pin, release=False)
    await validations.release_waiting(conn)
    return Pass(requested=len(due), expired=len(stale))


# --- runs on request -------------------------------------------------------------------------


async def request_validation(conn: Conn, p: Principal, product_id: UUID, build_id: UUID) -> Record:
    """A person's run of a build: a dry run while it is editable, else a manual run.

    A dry run (no case yet, or sent back) validates the build as drafted and moves no
    case. A manual run of a build with a pinned digest validates exactly that digest.
    """
    build = await validations.readable_build(conn, p, product_id, build_id, lock=True)
    if build["deleted_at"] is not None:
        raise NotFound("Build not found.")
    case = await store.case_of_build(conn, build_id)
    if case is None or case["state"] in machine.RESUBMITTABLE:
        return await validations.request_on_demand(conn, p, build, "dry_run", None)
    return await validations.request_on_demand(conn, p, build, "manual", case["image_digest"])


# --- reading -----------------------------------------------------------------------------


async def list_cases(
    conn: Conn, p: Principal, page: PageParams, filters: Filters
) -> tuple[list[Record], int]:
    """Reviewers see the whole queue; anyone else the cases of their own products.

    Tombstones (``deleted``) are listed to ``reviews.read`` only, never to their owner.
    """
    everything, owner = access.read_scope(p, "reviews")
    if filters.deleted and not everything:
        owner = None
    return await store.list_cases(conn, page, filters, owner, everything)


async def readable_case(conn: Conn, p: Principal, case_id: UUID) -> Record:
    """Reviewers and the owner; a tombstone (deleted build) only ``reviews.read`` (staff, auditors)."""
    case = await store.get_case(conn, case_id)
    if case is None or not access.may_read(p, "reviews", case["owner_id"]):
        raise NotFound("Review not found.")
    if case["deleted_at"] is not None and not p.can("reviews", "read"):
        raise NotFound("Review not found.")
    return case


@dataclass(frozen=True)
class CaseDetail:
    case: Record
    provenance: Sequence[Record]
    run: Record | None


async def get_case(conn: Conn, p: Principal, case_id: UUID) -> CaseDetail:
    """The case with its whole provenance and its build's latest validation run."""
    case = await readable_case(conn, p, case_id)
    return await _detail(conn, case)


async def _detail(conn: Conn, case: Record) -> CaseDetail:
    provenance = await store.provenance_of(conn, case["id"])
    return CaseDetail(case, provenance, await validations.latest_run(conn, case["build_id"]))


async def list_provenance(
    conn: Conn, p: Principal, case_id: UUID, page: PageParams
) -> tuple[list[Record], int]:
    await readable_case(conn, p, case_id)
    return await store.page_provenance(conn, case_id, page)


# --- decisions ---------------------------------------------------------------------------


async def decide(conn: Conn, p: Principal, case_id: UUID, body: models.DecisionCreate) -> CaseDetail:
    """An operator's decision; 409 names the decisions open in the case's state."""
    p.require("reviews", "update")
    case = await store.lock_case(conn, case_id)
    if case is None:
        raise NotFound("Review not found.")
    if case["deleted_at"] is not None:
        raise Conflict("The build was deleted: its review is closed.", allowed_decisions=[])
    try:
        target = machine.decide(case["state"], body.decision)
    except machine.IllegalTransition as exc:
        open_ = ", ".join(exc.allowed) or "none"
        raise Conflict(
            f"The review is {case['state']}: {body.decision} is not open (open decisions: {open_}).",
            allowed_decisions=list(exc.allowed),
        ) from exc
    if target == "approved" and not case["image_digest"]:
        raise Conflict(
            "The build has no validated image digest (its submission's run resolved none), so "
            "approval could not pin what is published: request changes so the ISV resubmits.",
            allowed_decisions=["reject", "request_changes"],
        )
    # Approval says whether the build's latest completed run passed (the catalog shows it).
    validated = target == "approved" and await validations.latest_outcome(conn, case["build_id"]) == "passed"
    step = Step(target, Actor.of(p), machine.LABELS[target], body.reason, badge_ids=tuple(body.badge_ids))
    await move(conn, case, step, validated=validated)
    decided = await store.get_case(conn, case_id)
    assert decided is not None
    return await _detail(conn, decided)


# --- recalls -----------------------------------------------------------------------------


async def cases_of_product(conn: Conn, product_id: UUID) -> list[Record]:
    """Every case of the product with its build's version, locked for a recall."""
    return await store.lock_cases_of_product(conn, product_id)


async def recall(conn: Conn, case: Record, actor: Actor, reason: str, recall_id: UUID) -> None:
    """Take a case (locked, on offer) to ``recalled`` on behalf of a recall."""
    await move(conn, case, Step("recalled", actor, machine.LABELS["recalled"], reason, recall_id=recall_id))
