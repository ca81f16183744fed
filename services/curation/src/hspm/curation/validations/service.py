"""Rules of validation runs: who may see and request them, requests, reports, expiry.

What a finished run does to its build's review case is the reviews area's business: it
hands reports to :func:`complete` and applies the verdict itself.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import asyncpg
import structlog

from hspm.common.auth import Principal
from hspm.common.db import Conn
from hspm.common.errors import NotFound
from hspm.common.events import catalog
from hspm.common.events.curation import ImageTarget, ValidationPolicy, ValidationRequested
from hspm.common.events.validator import ValidationCompleted, ValidationStarted
from hspm.common.paging import PageParams
from hspm.curation import access
from hspm.curation.actors import Actor
from hspm.curation.catalog_copy import service as copy
from hspm.curation.events import emit
from hspm.curation.policy import service as policy
from hspm.curation.validations import queue, store

log = structlog.get_logger(__name__)
Record = asyncpg.Record
Trigger = queue.Trigger
RUN_SORTS = ("requested_at",)
QueueFull = queue.QueueFull


# --- requesting --------------------------------------------------------------------------


async def request_run(
    conn: Conn,
    build: Record,
    trigger: Trigger,
    actor: Actor,
    digest: str | None = None,
    release: bool = True,
) -> Record:
    """A run of ``build`` under the policy in force, queued fairly (see ``queue``).

    ``digest`` pins the image (the validator pulls ``repository@digest``, not the tag).
    ``release`` False leaves the release to the caller (a batch releases once, at its end:
    the queue's lock is always the last one a transaction takes).
    """
    in_force = await policy.in_force(conn, build["product_id"])
    run_id = uuid4()
    request = _request(build, run_id, in_force, trigger, _target(build, digest))
    run = await store.insert_run(
        conn,
        {
            "id": run_id,
            "build_id": build["id"],
            "product_id": build["product_id"],
            "trigger": trigger,
            "requested_by": actor.id,
            "requested_by_name": actor.name,
            "policy": in_force.model_dump(mode="json"),
            "priority": queue.PRIORITY[trigger],
            "fair_key": queue.fair_key(trigger, actor.id, build["owner_id"]),
            "request": request.model_dump(mode="json"),
        },
    )
    if not release:
        return run
    await release_waiting(conn)
    released = await store.get_run(conn, run_id)
    assert released is not None
    return released


def _target(build: Record, digest: str | None) -> ImageTarget:
    image = ImageTarget.model_validate(build["image"])
    return image.model_copy(update={"digest": digest}) if digest else image


def _request(
    build: Record, run_id: UUID, in_force: ValidationPolicy, trigger: Trigger, image: ImageTarget
) -> ValidationRequested:
    snapshot = catalog.BuildSubmitted.model_validate(build["snapshot"])
    return ValidationRequested(
        run_id=run_id,
        build_id=build["id"],
        product_id=build["product_id"],
        version=build["version"],
        image=image,
        mime_type=snapshot.mime_type,
        has_asset=snapshot.has_asset,
        configurations=snapshot.configurations,
        exposures=snapshot.exposures,
        policy=in_force,
        trigger=trigger,
    )


def _on_offer(build: Record) -> bool:
    """Published and not since withdrawn or recalled, of a listed product: a customer may evaluate it."""
    return (
        build["published_at"] is not None
        and build["withdrawn_at"] is None
        and bool(build["listed"])
        and build["deleted_at"] is None
    )


async def readable_build(
    conn: Conn, p: Principal, product_id: UUID, build_id: UUID, lock: bool = False
) -> Record:
    """The build if the caller may see its runs: staff, its owner, or anyone once on offer.

    A build the catalog deleted stays readable by staff only (its runs are audit trail).
    """
    build = await copy.get_build(conn, build_id, lock)
    if build is None or build["product_id"] != product_id:
        raise NotFound("Build not found.")
    if access.sees_all_runs(p):
        return build
    mine = p.may_as_owner("validations", "read", build["owner_id"]) and build["deleted_at"] is None
    if not (mine or _on_offer(build)):
        raise NotFound("Build not found.")
    return build


async def request_on_demand(
    conn: Conn, p: Principal, build: Record, trigger: Trigger, digest: str | None
) -> Record:
    """A person's run (manual, or a dry run), or the build's run already open (no pile-up).

    Outside staff, open runs on request are capped per requester and per product: one
    more is :class:`queue.QueueFull` (429 with Retry-After). The count runs under the
    queue's lock, so parallel requests cannot slip past the cap together.
    """
    p.require("validations", "create")
    running = await store.open_run(conn, build["id"])
    if running is not None:
        return running
    if not access.sees_all_runs(p):
        limits = queue.Limits(**dict(await store.queue_limits(conn, lock=True)))
        mine, product = await store.open_on_request(conn, p.user_id, build["product_id"])
        refused = queue.refusal(limits, mine, product)
        if refused is not None:
            raise refused
    return await request_run(conn, build, trigger, Actor.of(p), digest)


async def release_waiting(conn: Conn) -> int:
    """Release waiting runs to the validator while fewer than the bound are in flight.

    Under the queue's row lock (held to the end of the transaction), so the bound holds
    across transactions and replicas; every request and every report ends with this.
    """
    limits = await store.queue_limits(conn, lock=True)
    free = limits["max_in_flight"] - await store.in_flight(conn)
    if free <= 0:
        return 0
    picked = await store.next_to_release(conn, free)
    if not picked:
        return 0
    requests = await store.mark_released(conn, picked)
    for run_id in picked:
        if run_id in requests:
            await emit(conn, ValidationRequested.model_validate(requests[run_id]))
    log.info("validation.released", runs=len(requests))
    return len(requests)


async def configure_queue(conn: Conn, limits: queue.Limits) -> None:
    """Store the queue's limits from the settings (at every start)."""
    await store.configure_queue(
        conn,
        limits.max_in_flight,
        limits.max_open_per_requester,
        limits.max_open_per_product,
        limits.retry_after_seconds,
    )


def policy_shown(p: Principal, document: dict[str, Any]) -> dict[str, Any]:
    """The policy a run applied, as ``p`` may see it (the trust settings are staff's)."""
    return policy.shown(p, document)


# --- reading -----------------------------------------------------------------------------


async def list_runs(
    conn: Conn, p: Principal, product_id: UUID, build_id: UUID, page: PageParams
) -> tuple[list[Record], int]:
    await readable_build(conn, p, product_id, build_id)
    return await store.list_runs(conn, build_id, page)


async def get_run(conn: Conn, p: Principal, product_id: UUID, build_id: UUID, run_id: UUID) -> Record:
    await readable_build(conn, p, product_id, build_id)
    run = await store.get_run(conn, run_id)
    if run is None or run["build_id"] != build_id:
        raise NotFound("Validation run not found.")
    return run


async def latest_run(conn: Conn, build_id: UUID) -> Record | None:
    """The build's most recently requested run, finished or not."""
    return await store.latest_run(conn, build_id)


async def latest_outcome(conn: Conn, build_id: UUID) -> str | None:
    """The outcome of the build's most recently completed run."""
    return await store.latest_outcome(conn, build_id)


# --- the validator's events ----------------------------------------------------------------


async def started(conn: Conn, event: ValidationStarted) -> None:
    if not await store.mark_started(conn, event.run_id, event.attempt, event.occurred_at):
        log.info("validation.start_ignored", run_id=str(event.run_id))


async def complete(conn: Conn, event: ValidationCompleted) -> Record | None:
    """Store the report once: the finished run, or None for an unknown or finished run."""
    run = await store.get_run(conn, event.run_id, lock=True)
    if run is None or run["status"] == "completed":
        log.info("validation.report_ignored", run_id=str(event.run_id))
        return None
    finished = await store.finish(conn, run["id"], _report(event))
    log.info("validation.completed", run_id=str(run["id"]), outcome=event.outcome, trigger=run["trigger"])
    return finished


def _report(event: ValidationCompleted) -> dict[str, Any]:
    return {
        "outcome": event.outcome,
        "digest": event.digest,
        "rules": [r.model_dump(mode="json") for r in event.rules],
        "runtime": event.runtime.model_dump(mode="json"),
        "timings": event.timings,
        "image": event.image,
        "summary": event.summary,
        "error": event.error,
    }


# --- the scheduler's picks -------------------------------------------------------------------


async def try_scheduler_lock(conn: Conn) -> bool:
    """One replica's pass at a time; the lock goes with the transaction."""
    return await store.try_scheduler_lock(conn)


async def stale_runs(conn: Conn, timeout: float, limit: int) -> list[Record]:
    """Runs still open ``timeout`` seconds after they were requested (locked)."""
    return await store.stale_runs(conn, timeout, limit)


def expiry(run: Record, timeout: float) -> ValidationCompleted:
    """The report closing a run whose request or report was lost: a run that judged nothing."""
    return ValidationCompleted(
        run_id=run["id"],
        build_id=run["build_id"],
        product_id=run["product_id"],
        outcome="error",
        error=f"no report from the validator within {timeout:g} s",
        producer="curation",
    )


async def due_for_revalidation(conn: Conn, interval: float, limit: int) -> list[Record]:
    """Each product's latest published build not re-validated within ``interval`` (locked).

    Only submission and scheduled runs count as recent: manual runs and dry runs never
    postpone a re-validation.
    """
    builds = []
    for build_id in await store.due_for_revalidation(conn, interval, limit):
        build = await copy.get_build(conn, build_id)
        assert build is not None, "locked by this transaction"
        builds.append(build)
    return builds
