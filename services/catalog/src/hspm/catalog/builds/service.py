"""The rules of builds and their packaging: visibility, ownership, editability, events."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import structlog
from pydantic import ValidationError

from hspm.catalog import access
from hspm.catalog.builds import models, rules, store
from hspm.catalog.events import emit
from hspm.common.auth import Principal
from hspm.common.db import Conn
from hspm.common.errors import Conflict, NotFound, ValidationFailed
from hspm.common.events import catalog as ev
from hspm.common.web.body import validation_errors
from hspm.common.paging import PageParams

log = structlog.get_logger(__name__)
Record = asyncpg.Record

BUILD_SORTS = store.BUILD_SORTS
_INTEGRITY = (asyncpg.UniqueViolationError, asyncpg.ForeignKeyViolationError, asyncpg.CheckViolationError)


@contextmanager
def _integrity(fields: Mapping[str, str]) -> Iterator[None]:
    """Constraint violations as 422 naming the field (``fields``: constraint fragment → field)."""
    try:
        yield
    except _INTEGRITY as exc:
        name = exc.constraint_name or ""
        field = next(
            (f for frag, f in fields.items() if frag in name), "id" if name.endswith("_pkey") else "base"
        )
        message = (
            "has already been taken" if isinstance(exc, asyncpg.UniqueViolationError) else "is not valid"
        )
        if isinstance(exc, asyncpg.ForeignKeyViolationError):
            message = "does not exist"
        raise ValidationFailed.field(field, message) from exc


# --- finding builds --------------------------------------------------------------------------


def sees_draft_builds(p: Principal, owner_id: UUID) -> bool:
    """Owners and ``builds.read`` holders see drafts and unpublished builds."""
    return p.owns(owner_id) or p.can("builds", "read")


async def readable_build(conn: Conn, p: Principal, product_id: UUID, build_id: UUID) -> Record:
    """The build if its product is visible and it is published (or the caller sees drafts)."""
    product = await access.visible_product(conn, p, product_id)
    build = await store.get_build(conn, build_id)
    if build is None or build["product_id"] != product_id:
        raise NotFound("Build not found.")
    if build["published_at"] is None and not sees_draft_builds(p, product["user_id"]):
        raise NotFound("Build not found.")
    return build


async def changeable_build(
    conn: Conn, p: Principal, product_id: UUID, build_id: UUID, verb: str = "update", editable: bool = True
) -> Record:
    """The build locked for a change by its owner or a ``builds.<verb>`` holder.

    ``editable``: packaging may only change while the build is a draft or sent back (409).
    """
    await readable_build(conn, p, product_id, build_id)
    await access.product_for_change(conn, p, product_id, "builds", verb)
    build = await store.get_build(conn, build_id, lock=True)
    if build is None:
        raise NotFound("Build not found.")
    if editable and build["status"] not in rules.EDITABLE:
        editable_states = ", ".join(sorted(rules.EDITABLE))
        raise Conflict(f"The build is {build['status']}; only builds that are {editable_states} can change.")
    return build


def _version_columns(version: str) -> dict[str, Any]:
    parsed = rules.parse_version(version)
    core, pre = parsed if parsed is not None else ([], None)
    return {"version": version, "version_core": core, "version_pre": pre}


_BUILD_CONSTRAINTS = {"version": "version", "image_digest": "image_digest", "length": "version"}


# --- builds ----------------------------------------------------------------------------------


async def create_build(conn: Conn, p: Principal, product_id: UUID, body: models.BuildCreate) -> Record:
    await access.product_for_change(conn, p, product_id, "builds", "create")
    fields = body.model_dump(exclude={"id", "version"}) | _version_columns(body.version)
    with _integrity(_BUILD_CONSTRAINTS):
        return await store.insert_build(conn, body.id or uuid4(), product_id, fields)


async def list_builds(
    conn: Conn, p: Principal, product_id: UUID, page: PageParams, version: str | None, status: str | None
) -> tuple[list[Record], int]:
    product = await access.visible_product(conn, p, product_id)
    return await store.list_builds(
        conn, product_id, page, sees_draft_builds(p, product["user_id"]), version, status
    )


async def update_build(
    conn: Conn, p: Principal, product_id: UUID, build_id: UUID, body: models.BuildUpdate
) -> Record:
    build = await changeable_build(conn, p, product_id, build_id)
    fields = body.model_dump(exclude_unset=True)
    if "version" in fields:
        fields |= _version_columns(fields["version"])
    if not fields:
        return build
    with _integrity(_BUILD_CONSTRAINTS):
        row = await store.update_build(conn, build_id, fields)
    assert row is not None
    return row


async def delete_build(conn: Conn, p: Principal, product_id: UUID, build_id: UUID) -> Record:
    await changeable_build(conn, p, product_id, build_id, "delete", editable=False)
    row = await store.delete_build(conn, build_id)
    assert row is not None
    await emit(conn, ev.BuildDeleted(build_id=build_id, product_id=product_id))
    return row


async def submit_build(conn: Conn, p: Principal, product_id: UUID, build_id: UUID) -> Record:
    """Hand a draft (or a build curation sent back) to curation."""
    await changeable_build(conn, p, product_id, build_id)
    await submit(conn, build_id)
    row = await store.get_build(conn, build_id)
    assert row is not None
    return row


async def submit(conn: Conn, build_id: UUID) -> None:
    """Mark the build submitted and emit ``BuildSubmitted`` with its full packaging snapshot.

    The caller has checked who may submit and that the build is a draft or sent back.
    """
    build = await store.set_status(conn, build_id, "submitted", None)
    product = await store.build_owner(conn, build_id)
    if build is None or product is None:
        raise NotFound("Build not found.")
    await emit(conn, await _snapshot(conn, build, product))


async def _snapshot(conn: Conn, build: Record, product: Record) -> ev.BuildSubmitted:
    tasks: dict[UUID, list[ev.TaskSnapshot]] = {}
    for t in await store.tasks_of_build(conn, build["id"]):
        tasks.setdefault(t["configuration_id"], []).append(
            ev.TaskSnapshot(task_id=t["id"], **{k: t[k] for k in _TASK_FIELDS})
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


_TASK_FIELDS = (
    "name",
    "memory_minimum",
    "memory_maximum",
    "instances_minimum",
    "instances_maximum",
    "ports",
    "options",
    "cron",
    "environment",
)


# --- asset -----------------------------------------------------------------------------------


async def put_asset(
    conn: Conn, p: Principal, product_id: UUID, build_id: UUID, data: bytes, name: str | None, ctype: str
) -> Record:
    await changeable_build(conn, p, product_id, build_id)
    await store.set_asset(conn, build_id, data, name, ctype, hashlib.sha256(data).hexdigest())
    row = await store.get_build(conn, build_id)
    assert row is not None
    return row


async def get_asset(conn: Conn, p: Principal, product_id: UUID, build_id: UUID) -> Record:
    await readable_build(conn, p, product_id, build_id)
    asset = await store.get_asset(conn, build_id)
    if asset is None:
        raise NotFound("This build has no asset.")
    return asset


async def delete_asset(conn: Conn, p: Principal, product_id: UUID, build_id: UUID) -> None:
    await changeable_build(conn, p, product_id, build_id)
    if await store.get_asset(conn, build_id) is None:
        raise NotFound("This build has no asset.")
    await store.set_asset(conn, build_id, None, None, None, None)


# --- configurations and tasks ----------------------------------------------------------------


class Path:
    """Where a packaging record sits: product, build and (for children) the parent's id."""

    def __init__(self, product_id: UUID, build_id: UUID, parent_id: UUID | None = None) -> None:
        self.product_id, self.build_id, self.parent_id = product_id, build_id, parent_id


async def _build(conn: Conn, p: Principal, at: Path, change: bool) -> Record:
    if change:
        return await changeable_build(conn, p, at.product_id, at.build_id)
    return await readable_build(conn, p, at.product_id, at.build_id)


async def _configuration(conn: Conn, at: Path, configuration_id: UUID) -> Record:
    row = await store.get_configuration(conn, configuration_id)
    if row is None or row["build_id"] != at.build_id:
        raise NotFound("Configuration not found.")
    return row


_CONFIGURATION_CONSTRAINTS = {"name": "name", "one_default": "default"}


async def create_configuration(
    conn: Conn, p: Principal, at: Path, body: models.ConfigurationCreate
) -> Record:
    await _build(conn, p, at, change=True)
    with _integrity(_CONFIGURATION_CONSTRAINTS):
        return await store.insert_configuration(
            conn, body.id or uuid4(), at.build_id, body.model_dump(exclude={"id"})
        )


async def list_configurations(
    conn: Conn, p: Principal, at: Path, page: PageParams
) -> tuple[list[Record], int]:
    await _build(conn, p, at, change=False)
    return await store.list_configurations(conn, at.build_id, page)


async def get_configuration(conn: Conn, p: Principal, at: Path, configuration_id: UUID) -> Record:
    await _build(conn, p, at, change=False)
    return await _configuration(conn, at, configuration_id)


async def update_configuration(
    conn: Conn, p: Principal, at: Path, configuration_id: UUID, body: models.ConfigurationUpdate
) -> Record:
    await _build(conn, p, at, change=True)
    row = await _configuration(conn, at, configuration_id)
    fields = body.model_dump(exclude_unset=True, exclude_none=True)
    if not fields:
        return row
    if fields.get("default"):
        await store.clear_default(conn, at.build_id, configuration_id)
    with _integrity(_CONFIGURATION_CONSTRAINTS):
        updated = await store.update_configuration(conn, configuration_id, fields)
    assert updated is not None
    return updated


async def delete_configuration(conn: Conn, p: Principal, at: Path, configuration_id: UUID) -> None:
    await _build(conn, p, at, change=True)
    await _configuration(conn, at, configuration_id)
    await store.delete_configuration(conn, configuration_id)


async def _task_parent(conn: Conn, p: Principal, at: Path, change: bool) -> None:
    await _build(conn, p, at, change)
    assert at.parent_id is not None
    await _configuration(conn, at, at.parent_id)


async def _task(conn: Conn, at: Path, task_id: UUID) -> Record:
    row = await store.get_task(conn, task_id)
    if row is None or row["configuration_id"] != at.parent_id:
        raise NotFound("Task not found.")
    return row


def _task_columns(task: models.TaskFields) -> dict[str, Any]:
    return task.model_dump(exclude={"id"}, exclude_none=False) | {
        "environment": [v.model_dump() for v in task.environment]
    }


async def create_task(conn: Conn, p: Principal, at: Path, body: models.TaskCreate) -> Record:
    await _task_parent(conn, p, at, change=True)
    assert at.parent_id is not None
    with _integrity({"name": "name"}):
        return await store.insert_task(conn, body.id or uuid4(), at.parent_id, _task_columns(body))


async def list_tasks(conn: Conn, p: Principal, at: Path, page: PageParams) -> tuple[list[Record], int]:
    await _task_parent(conn, p, at, change=False)
    assert at.parent_id is not None
    return await store.list_tasks(conn, at.parent_id, page)


async def get_task(conn: Conn, p: Principal, at: Path, task_id: UUID) -> Record:
    await _task_parent(conn, p, at, change=False)
    return await _task(conn, at, task_id)


async def update_task(conn: Conn, p: Principal, at: Path, task_id: UUID, body: models.TaskUpdate) -> Record:
    """The stored task with the given fields replaced, validated again as a whole."""
    await _task_parent(conn, p, at, change=True)
    row = await _task(conn, at, task_id)
    merged = {k: row[k] for k in _TASK_FIELDS} | body.model_dump(exclude_unset=True)
    try:
        task = models.TaskFields.model_validate(merged)
    except ValidationError as exc:
        raise validation_errors(exc) from exc
    with _integrity({"name": "name"}):
        updated = await store.update_task(conn, task_id, _task_columns(task))
    assert updated is not None
    return updated


async def delete_task(conn: Conn, p: Principal, at: Path, task_id: UUID) -> None:
    await _task_parent(conn, p, at, change=True)
    await _task(conn, at, task_id)
    await store.delete_task(conn, task_id)


# --- exposures and parameters ---------------------------------------------------------------

_EXPOSURE_CONSTRAINTS = {"interface_id_fkey": "interface_id", "build_id_interface_id": "interface_id"}


async def _exposure(conn: Conn, at: Path, exposure_id: UUID) -> Record:
    row = await store.get_exposure(conn, exposure_id)
    if row is None or row["build_id"] != at.build_id:
        raise NotFound("Exposure not found.")
    return row


async def create_exposure(conn: Conn, p: Principal, at: Path, body: models.ExposureCreate) -> Record:
    await _build(conn, p, at, change=True)
    with _integrity(_EXPOSURE_CONSTRAINTS):
        return await store.insert_exposure(conn, body.id or uuid4(), at.build_id, body.interface_id)


async def list_exposures(conn: Conn, p: Principal, at: Path, page: PageParams) -> tuple[list[Record], int]:
    await _build(conn, p, at, change=False)
    return await store.list_exposures(conn, at.build_id, page)


async def get_exposure(conn: Conn, p: Principal, at: Path, exposure_id: UUID) -> Record:
    await _build(conn, p, at, change=False)
    return await _exposure(conn, at, exposure_id)


async def update_exposure(
    conn: Conn, p: Principal, at: Path, exposure_id: UUID, body: models.ExposureUpdate
) -> Record:
    await _build(conn, p, at, change=True)
    await _exposure(conn, at, exposure_id)
    with _integrity(_EXPOSURE_CONSTRAINTS):
        row = await store.update_exposure(conn, exposure_id, {"interface_id": body.interface_id})
    assert row is not None
    return row


async def delete_exposure(conn: Conn, p: Principal, at: Path, exposure_id: UUID) -> None:
    await _build(conn, p, at, change=True)
    await _exposure(conn, at, exposure_id)
    await store.delete_exposure(conn, exposure_id)


async def _parameter_parent(conn: Conn, p: Principal, at: Path, change: bool) -> None:
    await _build(conn, p, at, change)
    assert at.parent_id is not None
    await _exposure(conn, at, at.parent_id)


async def _parameter(conn: Conn, at: Path, parameter_id: UUID) -> Record:
    row = await store.get_parameter(conn, parameter_id)
    if row is None or row["exposure_id"] != at.parent_id:
        raise NotFound("Parameter not found.")
    return row


async def create_parameter(conn: Conn, p: Principal, at: Path, body: models.ParameterCreate) -> Record:
    await _parameter_parent(conn, p, at, change=True)
    assert at.parent_id is not None
    with _integrity({"name": "name"}):
        return await store.insert_parameter(
            conn, body.id or uuid4(), at.parent_id, body.model_dump(exclude={"id"})
        )


async def list_parameters(conn: Conn, p: Principal, at: Path, page: PageParams) -> tuple[list[Record], int]:
    await _parameter_parent(conn, p, at, change=False)
    assert at.parent_id is not None
    return await store.list_parameters(conn, at.parent_id, page)


async def get_parameter(conn: Conn, p: Principal, at: Path, parameter_id: UUID) -> Record:
    await _parameter_parent(conn, p, at, change=False)
    return await _parameter(conn, at, parameter_id)


async def update_parameter(
    conn: Conn, p: Principal, at: Path, parameter_id: UUID, body: models.ParameterUpdate
) -> Record:
    await _parameter_parent(conn, p, at, change=True)
    row = await _parameter(conn, at, parameter_id)
    fields = body.model_dump(exclude_unset=True, exclude_none=True)
    if not fields:
        return row
    with _integrity({"name": "name"}):
        updated = await store.update_parameter(conn, parameter_id, fields)
    assert updated is not None
    return updated


async def delete_parameter(conn: Conn, p: Principal, at: Path, parameter_id: UUID) -> None:
    await _parameter_parent(conn, p, at, change=True)
    await _parameter(conn, at, parameter_id)
    await store.delete_parameter(conn, parameter_id)


# --- dependencies ---------------------------------------------------------------------------

_DEPENDENCY_FIELDS = ("interface_id", "product_id", "build_ids", "name", "required", "mappings")


async def _dependency(conn: Conn, at: Path, dependency_id: UUID) -> Record:
    row = await store.get_dependency(conn, dependency_id)
    if row is None or row["build_id"] != at.build_id:
        raise NotFound("Dependency not found.")
    return row


async def check_dependency(conn: Conn, dep: models.DependencyFields) -> None:
    """An interface or a product is needed; a product and its pinned builds must exist."""
    if dep.interface_id is None and dep.product_id is None:
        raise ValidationFailed.field("interface_id", "or product_id is required")
    if dep.product_id is not None:
        if not await store.product_exists(conn, dep.product_id):
            raise ValidationFailed.field("product_id", "does not exist")
        if dep.build_ids and await store.foreign_builds(conn, dep.product_id, dep.build_ids):
            raise ValidationFailed.field("build_ids", "must be builds of product_id")


async def create_dependency(conn: Conn, p: Principal, at: Path, body: models.DependencyCreate) -> Record:
    await _build(conn, p, at, change=True)
    await check_dependency(conn, body)
    with _integrity({"interface_id": "interface_id"}):
        return await store.insert_dependency(
            conn, body.id or uuid4(), at.build_id, body.model_dump(exclude={"id"})
        )


async def list_dependencies(conn: Conn, p: Principal, at: Path, page: PageParams) -> tuple[list[Record], int]:
    await _build(conn, p, at, change=False)
    return await store.list_dependencies(conn, at.build_id, page)


async def get_dependency(conn: Conn, p: Principal, at: Path, dependency_id: UUID) -> Record:
    await _build(conn, p, at, change=False)
    return await _dependency(conn, at, dependency_id)


async def update_dependency(
    conn: Conn, p: Principal, at: Path, dependency_id: UUID, body: models.DependencyUpdate
) -> Record:
    await _build(conn, p, at, change=True)
    row = await _dependency(conn, at, dependency_id)
    merged = {k: row[k] for k in _DEPENDENCY_FIELDS} | body.model_dump(exclude_unset=True)
    try:
        dep = models.DependencyFields.model_validate(merged)
    except ValidationError as exc:
        raise validation_errors(exc) from exc
    await check_dependency(conn, dep)
    with _integrity({"interface_id": "interface_id"}):
        updated = await store.update_dependency(conn, dependency_id, dep.model_dump())
    assert updated is not None
    return updated


async def delete_dependency(conn: Conn, p: Principal, at: Path, dependency_id: UUID) -> None:
    await _build(conn, p, at, change=True)
    await _dependency(conn, at, dependency_id)
    await store.delete_dependency(conn, dependency_id)
