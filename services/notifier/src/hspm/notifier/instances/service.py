"""Rules of instances: only a deployable build (published, approved digest, product listed,
entitlement held where licenses are offered: ``directory.deployable_build``) may be
instantiated; every change is appended to the platform's stream in the same transaction.

The platform's owner manages its instances (spec 7.2); staff need ``instances.*``. An
instance on a platform the caller may not see is not found, and so is one reached
through the spec's nested path that names another platform or another user.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from hspm.common.auth import Principal
from hspm.common.db import Conn
from hspm.common.errors import NotFound, Unauthorized, ValidationFailed
from hspm.common.paging import PageParams
from hspm.notifier.directory import service as directory
from hspm.notifier.instances import envelope, models, store
from hspm.notifier.platforms import service as platforms
from hspm.notifier.stream import service as stream

Record = asyncpg.Record
SORTS = ("created_at", "updated_at", "deployed_at")


async def _announce(conn: Conn, row: Record, user_id: UUID, event_type: str) -> None:
    build = await directory.build(conn, row["build_id"])
    model = envelope.instance_model(row, build, user_id)
    await stream.append(
        conn, row["platform_id"], "instance", event_type, envelope.MESSAGES[event_type], model
    )


@dataclass(frozen=True)
class Within:
    """The spec's nested path (/users/{user_id}/platforms/{platform_id}/instances/...):
    an instance reached through it must be on that platform, of that user."""

    user_id: UUID
    platform_id: UUID


async def _instance(
    conn: Conn, p: Principal, instance_id: UUID, verb: str, within: Within | None, *, lock: bool = False
) -> tuple[Record, Record]:
    """The instance and its platform, if ``p`` may ``verb`` it (and it is ``within``)."""
    if p.is_anonymous:
        raise Unauthorized("You are not authorized, sorry! Sign in first.")
    row = await store.get_instance(conn, instance_id, lock=lock)
    if row is None or (within is not None and row["platform_id"] != within.platform_id):
        raise NotFound("Instance not found.")
    try:
        user_id = within.user_id if within is not None else None
        platform = await platforms.platform_for(conn, p, row["platform_id"], verb, user_id)
    except NotFound:
        raise NotFound("Instance not found.") from None
    return row, platform


async def list_instances(
    conn: Conn, p: Principal, platform_id: UUID, page: PageParams, user_id: UUID | None = None
) -> tuple[list[Record], int]:
    await platforms.platform_for(conn, p, platform_id, "read", user_id)
    return await store.list_instances(conn, platform_id, page)


async def get_instance(conn: Conn, p: Principal, instance_id: UUID, within: Within | None = None) -> Record:
    row, _ = await _instance(conn, p, instance_id, "read", within)
    return row


async def create_instance(
    conn: Conn, p: Principal, platform_id: UUID, body: models.InstanceCreate, user_id: UUID | None = None
) -> Record:
    if body.platform_id is not None and body.platform_id != platform_id:
        raise ValidationFailed.field("platform_id", "must match the platform in the path")
    platform = await platforms.platform_for(conn, p, platform_id, "create", user_id)
    build = await directory.deployable_build(conn, platform["user_id"], body.build_id)
    fields = {
        "id": body.id or uuid4(),
        "platform_id": platform_id,
        "build_id": build["id"],
        "product_id": build["product_id"],
        "image": directory.image_reference(build),
        "desired_state": body.desired_state,
        "launch_bindings": body.launch_bindings,
    }
    try:
        row = await store.insert_instance(conn, fields)
    except asyncpg.UniqueViolationError as exc:
        raise ValidationFailed.field("id", "has already been taken") from exc
    await _announce(conn, row, platform["user_id"], "created")
    return row


async def update_instance(
    conn: Conn, p: Principal, instance_id: UUID, body: models.InstanceUpdate, within: Within | None = None
) -> Record:
    """A new ``build_id`` (an upgrade, a recall's fix) must be deployable like a new instance."""
    before, platform = await _instance(conn, p, instance_id, "update", within, lock=True)
    fields: dict[str, Any] = body.model_dump(exclude_unset=True, exclude_none=True)
    if "build_id" in fields and fields["build_id"] != before["build_id"]:
        build = await directory.deployable_build(conn, platform["user_id"], fields["build_id"])
        fields |= {"product_id": build["product_id"], "image": directory.image_reference(build)}
    return await _apply(conn, before, platform, fields)


async def report_status(
    conn: Conn, platform_id: UUID, instance_id: UUID, body: models.StatusReport
) -> Record:
    """An authenticated agent's report about an instance of its own platform."""
    row = await store.get_instance(conn, instance_id, lock=True)
    platform = await platforms.owned_platform(conn, platform_id)
    if row is None or platform is None or row["platform_id"] != platform_id:
        raise NotFound("Instance not found.")
    return await _apply(conn, row, platform, body.model_dump(exclude_unset=True, exclude_none=True))


async def _apply(conn: Conn, before: Record, platform: Record, fields: dict[str, Any]) -> Record:
    if not fields:
        return before
    if fields.keys() & {"reported_state", "launch_bindings", "deployed_at", "errors"}:
        fields["reported_at"] = datetime.now(UTC)
    row = await store.update_instance(conn, before["id"], fields)
    assert row is not None  # locked above
    await _announce(conn, row, platform["user_id"], "updated")
    return row


async def delete_instance(
    conn: Conn, p: Principal, instance_id: UUID, within: Within | None = None
) -> Record:
    """200 with the instance; the agent hears ``instance``/``destroyed``."""
    row, platform = await _instance(conn, p, instance_id, "delete", within, lock=True)
    await _announce(conn, row, platform["user_id"], "destroyed")
    await store.delete_instance(conn, instance_id)
    return row


# --- for the notices and the sockets ------------------------------------------------------


async def platforms_running_product(conn: Conn, product_id: UUID) -> list[UUID]:
    return await store.platforms_running_product(conn, product_id)


async def platforms_running_builds(conn: Conn, build_ids: list[UUID]) -> list[UUID]:
    return await store.platforms_running_builds(conn, build_ids)


async def desired_state(conn: Conn, platform_id: UUID) -> list[dict[str, str]]:
    """Every instance's desired state, sorted by id: the full state an agent resyncs from."""
    return [envelope.desired(r) for r in await store.all_instances(conn, platform_id)]
