"""A build's full packaging as curation and the validator see it: on submission, and on
every change of a build still being edited (for the owner's dry runs)."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from hspm.catalog.builds import models, rules, store
from hspm.catalog.events import emit
from hspm.common.db import Conn
from hspm.common.events import catalog as ev

Record = asyncpg.Record


async def snapshot(
    conn: Conn, build: Record, product: Record, kind: type[ev.BuildSubmitted] = ev.BuildSubmitted
) -> ev.BuildSubmitted:
    """Everything curation and the validator need, so they never see a half-assembled build."""
    tasks: dict[UUID, list[ev.TaskSnapshot]] = {}
    for t in await store.tasks_of_build(conn, build["id"]):
        tasks.setdefault(t["configuration_id"], []).append(
            ev.TaskSnapshot(task_id=t["id"], **{k: t[k] for k in models.TASK_FIELDS})
        )
    configurations = [
        ev.ConfigurationSnapshot(
            configuration_id=c["id"], name=c["name"], default=c["default"], tasks=tasks.get(c["id"], [])
        )
        for c in await store.configurations_of_build(conn, build["id"])
    ]
    exposures = [ev.ExposureSnapshot(**dict(e)) for e in await store.exposures_of_build(conn, build["id"])]
    return kind(
        build_id=build["id"],
        product_id=build["product_id"],
        owner_id=product["user_id"],
        version=build["version"],
        registry=build["container_registry"],
        repository=build["container_repository"],
        tag=build["container_tag"],
        digest=build["image_digest"],
        mime_type=product["mime_type"],
        configurations=configurations,
        exposures=exposures,
        has_asset=build["asset_available"],
    )


async def draft_changed(conn: Conn, build_id: UUID) -> None:
    """``BuildDraftChanged`` with the build's snapshot, if it is still being edited.

    Called in the transaction of every change to a build or its packaging, after it.
    """
    build = await store.get_build(conn, build_id)
    product = await store.build_owner(conn, build_id)
    if build is None or product is None or build["status"] not in rules.EDITABLE:
        return
    await emit(conn, await snapshot(conn, build, product, ev.BuildDraftChanged))
