"""What a build is made of: configurations and their tasks, exposures and their parameters,
dependencies, and the build's asset.

Each kind of record hangs under a parent (the build, a configuration, an exposure) and is
found only there: an id from elsewhere answers 404 as a missing one does. Reading follows
the build's visibility; any write needs a build that can still change
(``access.changeable_build``). Listing, reading and deleting are the same for every kind;
creating and updating carry each kind's own rules.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from uuid import UUID, uuid4

import asyncpg
from pydantic import BaseModel, ValidationError

from hspm.catalog.builds import models, store
from hspm.catalog.builds.service.access import changeable_build, readable_build
from hspm.catalog.builds.service.errors import integrity
from hspm.catalog.builds.service.snapshot import draft_changed
from hspm.common.auth import Principal
from hspm.common.db import Conn
from hspm.common.errors import NotFound, ValidationFailed
from hspm.common.paging import PageParams
from hspm.common.web.body import validation_errors

Record = asyncpg.Record
Page = tuple[list[Record], int]
C = TypeVar("C", bound=BaseModel)
U = TypeVar("U", bound=BaseModel)
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Path:
    """Where a record sits: product, build and, for tasks and parameters, the parent's id."""

    product_id: UUID
    build_id: UUID
    parent_id: UUID | None = None


@dataclass(frozen=True)
class Kind(Generic[C, U]):
    """One kind of packaging record: its table, the kind it hangs under (None: the build),
    the orders a caller may list it in, and its rules for creating and updating."""

    noun: str
    table: str
    parent: Kind[Any, Any] | None
    sorts: tuple[str, ...]
    # (conn, parent id, body) and (conn, stored row, body): the parent is already checked.
    create: Callable[[Conn, UUID, C], Awaitable[Record]]
    update: Callable[[Conn, Record, U], Awaitable[Record]]


async def _one(conn: Conn, kind: Kind[Any, Any], parent_id: UUID, record_id: UUID) -> Record:
    row = await store.get_record(conn, kind.table, record_id, parent_id)
    if row is None:
        raise NotFound(f"{kind.noun.capitalize()} not found.")
    return row


async def _parent(conn: Conn, p: Principal, kind: Kind[Any, Any], at: Path, change: bool) -> UUID:
    """The id of what ``kind`` hangs under, once the caller may read (or change) the build."""
    if change:
        await changeable_build(conn, p, at.product_id, at.build_id)
    else:
        await readable_build(conn, p, at.product_id, at.build_id)
    if kind.parent is None:
        return at.build_id
    assert at.parent_id is not None
    await _one(conn, kind.parent, at.build_id, at.parent_id)
    return at.parent_id


async def list_records(conn: Conn, p: Principal, kind: Kind[Any, Any], at: Path, page: PageParams) -> Page:
    return await store.list_records(conn, kind.table, await _parent(conn, p, kind, at, False), page)


async def get_record(conn: Conn, p: Principal, kind: Kind[Any, Any], at: Path, record_id: UUID) -> Record:
    return await _one(conn, kind, await _parent(conn, p, kind, at, False), record_id)


# Every write below ends with ``draft_changed``: the build's new snapshot for dry runs.


async def create_record(conn: Conn, p: Principal, kind: Kind[C, Any], at: Path, body: C) -> Record:
    row = await kind.create(conn, await _parent(conn, p, kind, at, True), body)
    await draft_changed(conn, at.build_id)
    return row


async def update_record(
    conn: Conn, p: Principal, kind: Kind[Any, U], at: Path, record_id: UUID, body: U
) -> Record:
    row = await _one(conn, kind, await _parent(conn, p, kind, at, True), record_id)
    row = await kind.update(conn, row, body)
    await draft_changed(conn, at.build_id)
    return row


async def delete_record(conn: Conn, p: Principal, kind: Kind[Any, Any], at: Path, record_id: UUID) -> None:
    """A configuration's tasks and an exposure's parameters go with it."""
    await _one(conn, kind, await _parent(conn, p, kind, at, True), record_id)
    await store.delete_record(conn, kind.table, record_id)
    await draft_changed(conn, at.build_id)


def _merged(model: type[M], row: Record, names: Sequence[str], body: BaseModel) -> M:
    """The stored record with the fields given replaced, validated again as a whole."""
    try:
        return model.model_validate({k: row[k] for k in names} | body.model_dump(exclude_unset=True))
    except ValidationError as exc:
        raise validation_errors(exc) from exc


async def _changed(conn: Conn, table: str, row: Record, fields: dict[str, Any]) -> Record:
    """``row`` with ``fields`` set; a constraint they break is a 422 naming the field."""
    if not fields:
        return row
    with integrity(_CONSTRAINTS[table]):
        updated = await store.update_record(conn, table, row["id"], fields)
    assert updated is not None
    return updated


# Which field a constraint of each table is about (constraint name fragment → field).
_CONSTRAINTS = {
    "configurations": {"name": "name", "one_default": "default"},
    "tasks": {"name": "name"},
    "exposures": {"interface_id_fkey": "interface_id", "build_id_interface_id": "interface_id"},
    "parameters": {"name": "name"},
    "dependencies": {"interface_id": "interface_id"},
}
_NAMED = ("created_at", "updated_at", "name")


async def _insert(
    conn: Conn, table: str, record_id: UUID | None, parent_id: UUID, fields: dict[str, Any]
) -> Record:
    """A new record under ``parent_id`` (with the id the client chose, if any)."""
    with integrity(_CONSTRAINTS[table]):
        return await store.insert_record(conn, table, record_id or uuid4(), parent_id, fields)


# --- configurations and tasks -----------------------------------------------------------------


async def _create_configuration(conn: Conn, build_id: UUID, body: models.ConfigurationCreate) -> Record:
    """A new default configuration takes that place from the build's previous default."""
    with integrity(_CONSTRAINTS["configurations"]):
        return await store.insert_configuration(
            conn, body.id or uuid4(), build_id, body.model_dump(exclude={"id"})
        )


async def _update_configuration(conn: Conn, row: Record, body: models.ConfigurationUpdate) -> Record:
    fields = body.model_dump(exclude_unset=True, exclude_none=True)
    if fields.get("default"):
        await store.clear_default(conn, row["build_id"], row["id"])
    return await _changed(conn, "configurations", row, fields)


def _task_columns(task: models.TaskFields) -> dict[str, Any]:
    return task.model_dump(exclude={"id"}, exclude_none=False) | {
        "environment": [v.model_dump() for v in task.environment]
    }


async def _create_task(conn: Conn, configuration_id: UUID, body: models.TaskCreate) -> Record:
    return await _insert(conn, "tasks", body.id, configuration_id, _task_columns(body))


async def _update_task(conn: Conn, row: Record, body: models.TaskUpdate) -> Record:
    """The stored task with the given fields replaced, validated again as a whole."""
    # In a worker thread, like the body's own validation: RE2 runs every environment pattern.
    task = await asyncio.to_thread(_merged, models.TaskFields, row, models.TASK_FIELDS, body)
    return await _changed(conn, "tasks", row, _task_columns(task))


CONFIGURATIONS = Kind(
    "configuration",
    "configurations",
    None,
    (*_NAMED, "default"),
    _create_configuration,
    _update_configuration,
)
TASKS = Kind("task", "tasks", CONFIGURATIONS, _NAMED, _create_task, _update_task)


# --- exposures and parameters -----------------------------------------------------------------


async def _create_exposure(conn: Conn, build_id: UUID, body: models.ExposureCreate) -> Record:
    return await _insert(conn, "exposures", body.id, build_id, {"interface_id": body.interface_id})


async def _update_exposure(conn: Conn, row: Record, body: models.ExposureUpdate) -> Record:
    """Pointing the exposure at another interface; its parameters stay."""
    return await _changed(conn, "exposures", row, {"interface_id": body.interface_id})


async def _create_parameter(conn: Conn, exposure_id: UUID, body: models.ParameterCreate) -> Record:
    return await _insert(conn, "parameters", body.id, exposure_id, body.model_dump(exclude={"id"}))


async def _update_parameter(conn: Conn, row: Record, body: models.ParameterUpdate) -> Record:
    return await _changed(conn, "parameters", row, body.model_dump(exclude_unset=True, exclude_none=True))


EXPOSURES = Kind(
    "exposure", "exposures", None, ("created_at", "updated_at"), _create_exposure, _update_exposure
)
PARAMETERS = Kind(
    "parameter", "parameters", EXPOSURES, (*_NAMED, "required"), _create_parameter, _update_parameter
)


# --- dependencies -----------------------------------------------------------------------------


async def _check_dependency(conn: Conn, dep: models.DependencyFields) -> None:
    """An interface or a product is needed; a product and its pinned builds must exist."""
    if dep.interface_id is None and dep.product_id is None:
        raise ValidationFailed.field("interface_id", "or product_id is required")
    if dep.product_id is not None:
        if not await store.product_exists(conn, dep.product_id):
            raise ValidationFailed.field("product_id", "does not exist")
        if dep.build_ids and await store.foreign_builds(conn, dep.product_id, dep.build_ids):
            raise ValidationFailed.field("build_ids", "must be builds of product_id")


async def _create_dependency(conn: Conn, build_id: UUID, body: models.DependencyCreate) -> Record:
    await _check_dependency(conn, body)
    return await _insert(conn, "dependencies", body.id, build_id, body.model_dump(exclude={"id"}))


async def _update_dependency(conn: Conn, row: Record, body: models.DependencyUpdate) -> Record:
    """The stored dependency with the given fields replaced, validated and checked again."""
    dep = _merged(models.DependencyFields, row, models.DEPENDENCY_FIELDS, body)
    await _check_dependency(conn, dep)
    return await _changed(conn, "dependencies", row, dep.model_dump())


DEPENDENCIES = Kind(
    "dependency", "dependencies", None, (*_NAMED, "required"), _create_dependency, _update_dependency
)


# --- the asset ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Asset:
    """A build's non-container content, as uploaded."""

    data: bytes
    name: str | None
    content_type: str


async def set_asset(conn: Conn, build_id: UUID, asset: Asset | None) -> None:
    """Store (None: remove) the build's asset; the caller checked that the build may change."""
    if asset is None:
        await store.set_asset(conn, build_id, None, None, None, None)
    else:
        digest = hashlib.sha256(asset.data).hexdigest()
        await store.set_asset(conn, build_id, asset.data, asset.name, asset.content_type, digest)


async def put_asset(conn: Conn, p: Principal, product_id: UUID, build_id: UUID, asset: Asset) -> Record:
    await changeable_build(conn, p, product_id, build_id)
    await set_asset(conn, build_id, asset)
    await draft_changed(conn, build_id)
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
    await set_asset(conn, build_id, None)
    await draft_changed(conn, build_id)
