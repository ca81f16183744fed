"""Rules of validation runs: who may see and request them, requests, reports, expiry.

What a finished run does to its build's review case is the reviews area's business: it
hands reports to :func:`complete` and applies the verdict itself.
"""

from __future__ import annotations

from typing import Any, Literal
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
from hspm.curation.validations import store

log = structlog.get_logger(__name__)
Record = asyncpg.Record
Trigger = Literal["submission", "manual", "scheduled"]
RUN_SORTS = ("requested_at",)


# --- requesting --------------------------------------------------------------------------


async def request_run(conn: Conn, build: Record, trigger: Trigger, actor: Actor) -> Record:
    """A queued run of ``build`` under the policy in force, and its request to the validator."""
    in_force = await policy.in_force(conn, build["product_id"])
    run = await store.insert_run(
        conn,
        {
            "id": uuid4(),
            "build_id": build["id"],
            "product_id": build["product_id"],
            "trigger": trigger,
            "requested_by": actor.id,
            "requested_by_name": actor.name,
            "policy": in_force.model_dump(mode="json"),
        },
    )
    await emit(conn, _request(build, run["id"], in_force, trigger))
    return run


def _request(
    build: Record, run_id: UUID, in_force: ValidationPolicy, trigger: Trigger
) -> ValidationRequested:
    snapshot = catalog.BuildSubmitted.model_validate(build["snapshot"])
    return ValidationRequested(
        run_id=run_id,
        build_id=build["id"],
        product_id=build["product_id"],
        version=build["version"],
        image=ImageTarget.model_validate(build["image"]),
        mime_type=snapshot.mime_type,
        has_asset=snapshot.has_asset,
        configurations=snapshot.configurations,
        exposures=snapshot.exposures,
        policy=in_force,
        trigger=trigger,
    )


def _on_offer(build: Record) -> bool:
    """Published, of a listed product: a customer may evaluate it."""
    return build["published_at"] is not None and bool(build["listed"])


async def readable_build(
    conn: Conn, p: Principal, product_id: UUID, build_id: UUID, lock: bool = False
) -> Record:
    """The build if the caller may see its runs: staff, its owner, or anyone once on offer."""
    build = await copy.get_build(conn, build_id, lock)
    if build is None or build["product_id"] != product_id:
        raise NotFound("Build not found.")
    mine = p.may_as_owner("validations", "read", build["owner_id"])
    if not (access.sees_all_runs(p) or mine or _on_offer(build)):
        raise NotFound("Build not found.")
    return build


async def request_manual(conn: Conn, p: Principal, product_id: UUID, build_id: UUID) -> Record:
    """A new manual run, or the build's run already queued or running (no pile-up)."""
    build = await readable_build(conn, p, product_id, build_id, lock=True)
    p.require("validations", "create")
    running = await store.open_run(conn, build_id)
    if running is not None:
        return running
    return await request_run(conn, build, "manual", Actor.of(p))


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
    """Each product's latest published build not validated within ``interval`` (locked)."""
    builds = []
    for build_id in await store.due_for_revalidation(conn, interval, limit):
        build = await copy.get_build(conn, build_id)
        assert build is not None, "locked by this transaction"
        builds.append(build)
    return builds
