"""A build's life: a draft, edited, submitted to curation, then moved only by curation.

Curation's decisions arrive as events: approval publishes the build (and awards the
badges the reviewer chose); deprecation, withdrawal and recall take it off the market.
``published_at``, ``validated_at`` and ``status`` are never a client's to write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import structlog

from hspm.catalog.builds import models, rules, store
from hspm.catalog.builds.service.access import changeable_build, sees_draft_builds
from hspm.catalog.builds.service.errors import integrity
from hspm.catalog.events import emit
from hspm.catalog.products import service as products
from hspm.common.auth import Principal
from hspm.common.db import Conn
from hspm.common.errors import Conflict, NotFound
from hspm.common.events import catalog as ev
from hspm.common.paging import PageParams

log = structlog.get_logger(__name__)
Record = asyncpg.Record

_BUILD_CONSTRAINTS = {"version": "version", "image_digest": "image_digest", "length": "version"}


def _version_columns(version: str) -> dict[str, Any]:
    """The version as given, and its SemVer core and pre-release key for ordering."""
    parsed = rules.parse_version(version)
    core, pre = parsed if parsed is not None else ([], None)
    return {"version": version, "version_core": core, "version_pre": pre}


# --- drafts ------------------------------------------------------------------------------


async def create_build(conn: Conn, p: Principal, product_id: UUID, body: models.BuildCreate) -> Record:
    await products.product_for_change(conn, p, product_id, "builds", "create")
    fields = body.model_dump(exclude={"id", "version"}) | _version_columns(body.version)
    with integrity(_BUILD_CONSTRAINTS):
        return await store.insert_build(conn, body.id or uuid4(), product_id, fields)


async def list_builds(
    conn: Conn, p: Principal, product_id: UUID, page: PageParams, version: str | None, status: str | None
) -> tuple[list[Record], int]:
    product = await products.visible_product(conn, p, product_id)
    drafts = sees_draft_builds(p, product["user_id"])
    return await store.list_builds(conn, product_id, page, drafts, version, status)


async def update_build(
    conn: Conn, p: Principal, product_id: UUID, build_id: UUID, body: models.BuildUpdate
) -> Record:
    build = await changeable_build(conn, p, product_id, build_id)
    fields = body.model_dump(exclude_unset=True)
    if "version" in fields:
        fields |= _version_columns(fields["version"])
    if not fields:
        return build
    with integrity(_BUILD_CONSTRAINTS):
        row = await store.update_build(conn, build_id, fields)
    assert row is not None
    return row


async def delete_build(conn: Conn, p: Principal, product_id: UUID, build_id: UUID) -> Record:
    """Any build its owner (or ``builds.delete``) no longer wants, whatever its status."""
    await changeable_build(conn, p, product_id, build_id, "delete", editable=False)
    row = await store.delete_build(conn, build_id)
    assert row is not None
    await emit(conn, ev.BuildDeleted(build_id=build_id, product_id=product_id))
    return row


# --- submission --------------------------------------------------------------------------


async def submit_build(conn: Conn, p: Principal, product_id: UUID, build_id: UUID) -> Record:
    """Hand a draft (or a build curation sent back) to curation."""
    await changeable_build(conn, p, product_id, build_id)
    return await _submit(conn, build_id)


async def _submit(conn: Conn, build_id: UUID) -> Record:
    """Mark the build submitted and emit ``BuildSubmitted`` with its full packaging snapshot.

    The caller has checked who may submit and that the build is a draft or sent back.
    """
    build = await store.set_status(conn, build_id, "submitted", None)
    product = await store.build_owner(conn, build_id)
    if build is None or product is None:
        raise NotFound("Build not found.")
    await emit(conn, await _snapshot(conn, build, product))
    return build


async def _snapshot(conn: Conn, build: Record, product: Record) -> ev.BuildSubmitted:
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
    return ev.BuildSubmitted(
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


# --- a complete build at once (an import) --------------------------------------------------


@dataclass(frozen=True)
class NewTask:
    id: UUID
    columns: Mapping[str, Any]  # the task columns: name, memory and instance bounds, ports...


@dataclass(frozen=True)
class NewConfiguration:
    id: UUID
    name: str
    default: bool
    tasks: Sequence[NewTask]


async def create_submitted(
    conn: Conn,
    product_id: UUID,
    build_id: UUID,
    columns: Mapping[str, Any],
    configurations: Sequence[NewConfiguration],
    dependencies: Sequence[Mapping[str, Any]],
) -> Record:
    """A build with all its packaging, submitted at once: what importing a document does.

    ``columns`` are build columns with ``version``; ``dependencies`` rows of dependency
    columns. The caller has checked who may create builds under the product, and that
    the ids it chose are free.
    """
    version = columns["version"]
    try:
        await store.insert_build(conn, build_id, product_id, {**columns, **_version_columns(version)})
    except asyncpg.UniqueViolationError as exc:
        raise Conflict(f"This product already has a build with version {version!r}.") from exc
    for config in configurations:
        fields = {"name": config.name, "default": config.default}
        await store.insert_configuration(conn, config.id, build_id, fields)
        for task in config.tasks:
            await store.insert_record(conn, "tasks", task.id, config.id, task.columns)
    for dependency in dependencies:
        await store.insert_record(conn, "dependencies", uuid4(), build_id, dependency)
    # The same workflow as the submit route: submitted, and BuildSubmitted with the snapshot.
    return await _submit(conn, build_id)


# --- curation's decisions ------------------------------------------------------------------


async def review_changed(
    conn: Conn, build_id: UUID, state: str, reason: str | None, validated: bool, badge_ids: Sequence[UUID]
) -> None:
    """Mirror the review state; approval publishes (and awards badges), retirement withdraws."""
    status = "published" if state in rules.PUBLISHING else state
    build = await store.set_status(conn, build_id, status, reason)
    if build is None:
        # Deleted meanwhile (or never ours): nothing to mirror, and nothing to retry.
        log.info("build.review_ignored", build_id=str(build_id), state=state)
        return
    if validated:
        await store.mark_validated(conn, build_id)
    if state in rules.PUBLISHING:
        await _publish(conn, build)
        if state == "approved":
            await products.award_with_approval(conn, build["product_id"], badge_ids, reason)
    elif state in rules.RETIRING:
        await store.mark_withdrawn(conn, build_id)
        await emit(
            conn,
            ev.BuildWithdrawn(build_id=build_id, product_id=build["product_id"], status=state, reason=reason),
        )


async def _publish(conn: Conn, build: Record) -> None:
    """Publish once: curation announces ``approved``, then ``published`` when it hears back."""
    if build["published_at"] is not None and build["withdrawn_at"] is None:
        return
    published = await store.mark_published(conn, build["id"])
    assert published is not None
    await emit(
        conn,
        ev.BuildPublished(
            build_id=build["id"], product_id=build["product_id"], published_at=published["published_at"]
        ),
    )
