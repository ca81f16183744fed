"""A build's life: a draft, edited, submitted to curation, then moved only by curation.

Curation's decisions arrive as events: approval publishes the build (and awards the
badges the reviewer chose); deprecation, withdrawal and recall take it off the market.
``published_at``, ``validated_at`` and ``status`` are never a client's to write.

Each decision a validation report caused carries the manifest digest the validator
judged; it becomes the build's ``image_digest`` (pinned) in the same transaction, so
what is approved and published is exactly those bytes, whatever the tag names later.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import structlog

from hspm.catalog.builds import models, rules, store
from hspm.catalog.builds.service.access import (
    build_visibility,
    changeable_build,
)
from hspm.catalog.builds.service.errors import integrity
from hspm.catalog.builds.service.packaging import Asset, set_asset
from hspm.catalog.builds.service.snapshot import draft_changed, snapshot
from hspm.catalog.events import emit
from hspm.catalog.products import service as products
from hspm.common.auth import Principal
from hspm.common.db import Conn
from hspm.common.errors import Conflict, NotFound, ValidationFailed
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


def _image_columns(fields: dict[str, Any]) -> dict[str, Any]:
    """A full reference in ``container_repository`` split into its columns, the registry in
    its one stored form (``rules.canonical_registry``); a part that disagrees with its own
    field is a 422 naming that field."""
    out = dict(fields)
    if out.get("container_registry") is not None:
        out["container_registry"] = rules.canonical_registry(out["container_registry"])
    if out.get("container_repository") is None:
        return out
    parts = rules.split_image(out["container_repository"])
    if isinstance(parts, str):
        raise ValidationFailed.field("container_repository", parts)
    out["container_repository"] = parts.repository
    for field, value in (
        ("container_registry", parts.registry),
        ("container_tag", parts.tag),
        ("image_digest", parts.digest),
    ):
        if value is None:
            continue
        given = out.get(field)
        agree = given is None or (
            rules.same_registry(given, value) if field == "container_registry" else given == value
        )
        if not agree:
            raise ValidationFailed.field(field, f"conflicts with {value!r} in container_repository")
        out[field] = value
    return out


# --- drafts ------------------------------------------------------------------------------


async def create_build(
    conn: Conn, p: Principal, product_id: UUID, body: models.BuildCreate, asset: Asset | None = None
) -> Record:
    """A draft; the multipart form of the reference UI may carry its asset along."""
    await products.product_for_change(conn, p, product_id, "builds", "create")
    fields = _image_columns(body.model_dump(exclude={"id", "version"})) | _version_columns(body.version)
    with integrity(_BUILD_CONSTRAINTS):
        row = await store.insert_build(conn, body.id or uuid4(), product_id, fields)
    return await _changed(conn, row, asset)


async def list_builds(
    conn: Conn, p: Principal, product_id: UUID, page: PageParams, version: str | None, status: str | None
) -> tuple[list[Record], int]:
    product = await products.visible_product(conn, p, product_id)
    visibility = build_visibility(p, product["user_id"])
    hidden = sorted(rules.OFF_MARKET) if visibility == "offered" else []
    return await store.list_builds(
        conn, product_id, page, version, status, published_only=visibility != "all", hidden_statuses=hidden
    )


async def update_build(
    conn: Conn,
    p: Principal,
    product_id: UUID,
    build_id: UUID,
    body: models.BuildUpdate,
    asset: Asset | None = None,
) -> Record:
    build = await changeable_build(conn, p, product_id, build_id)
    fields = _image_columns(body.model_dump(exclude_unset=True))
    if "image_digest" in fields:
        if fields["image_digest"] == build["image_digest"]:
            # Echoed back unchanged (the reference UI sends whole objects): a digest that
            # validation pinned stays pinned, and goes on resubmission.
            del fields["image_digest"]
        else:
            fields["image_digest_pinned"] = False  # the owner's own: declared, not pinned
    if "version" in fields:
        fields |= _version_columns(fields["version"])
    if not fields and asset is None:
        return build
    if fields:
        with integrity(_BUILD_CONSTRAINTS):
            updated = await store.update_build(conn, build_id, fields)
        assert updated is not None
        build = updated
    return await _changed(conn, build, asset)


async def _changed(conn: Conn, build: Record, asset: Asset | None) -> Record:
    """After a draft changed: its asset stored, if one came along, and the dry-run snapshot."""
    if asset is not None:
        await set_asset(conn, build["id"], asset)
        stored = await store.get_build(conn, build["id"])
        assert stored is not None
        build = stored
    await draft_changed(conn, build["id"])
    return build


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
    build = await store.mark_submitted(conn, build_id)
    product = await store.build_owner(conn, build_id)
    if build is None or product is None:
        raise NotFound("Build not found.")
    await emit(conn, await snapshot(conn, build, product))
    return build


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
    conn: Conn,
    build_id: UUID,
    state: str,
    reason: str | None,
    validated: bool,
    badge_ids: Sequence[UUID],
    image_digest: str | None = None,
) -> None:
    """Mirror the review state and pin the validated digest; approval publishes (and awards
    badges), retirement withdraws. A change without a digest keeps the pinned one."""
    if image_digest is not None and not rules.DIGEST.fullmatch(image_digest):
        # Curation's bug, not something to publish around: the message goes to the DLQ.
        raise ValueError(f"image_digest {image_digest[:80]!r} is not sha256:<64 hex digits>")
    current = await store.get_build(conn, build_id, lock=True)
    if current is not None and rules.stale_review(current["status"], state):
        log.info("build.review_stale", build_id=str(build_id), status=current["status"], state=state)
        return
    status = "published" if state in rules.PUBLISHING else state
    build = await store.set_status(conn, build_id, status, reason, image_digest)
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
