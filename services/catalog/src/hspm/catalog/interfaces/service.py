"""The rules of interfaces (marketplace-wide, operator-managed) and their surrogates."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID, uuid4

import asyncpg

from hspm.catalog.interfaces import models, store
from hspm.common.auth import Principal
from hspm.common.db import Conn
from hspm.common.errors import NotFound, ValidationFailed
from hspm.common.paging import PageParams

Record = asyncpg.Record
SORTS = ("name", "uri", "version", "ordinal", "created_at", "updated_at")
SURROGATE_SORTS = ("created_at", "updated_at")


@contextmanager
def _integrity() -> Iterator[None]:
    """Unique name/uri, unknown or self substitutes: 422 naming the field."""
    try:
        yield
    except asyncpg.UniqueViolationError as exc:
        name = exc.constraint_name or ""
        field = next((f for f in ("name", "uri", "substitute_id") if f in name), "id")
        raise ValidationFailed.field(field, "has already been taken") from exc
    except asyncpg.ForeignKeyViolationError as exc:
        raise ValidationFailed.field("substitute_id", "does not exist") from exc
    except asyncpg.CheckViolationError as exc:
        raise ValidationFailed.field("substitute_id", "must be another interface") from exc


async def create_interface(conn: Conn, p: Principal, body: models.InterfaceCreate) -> Record:
    p.require("interfaces", "create")
    with _integrity():
        return await store.insert_interface(conn, body.id or uuid4(), body.model_dump(exclude={"id"}))


async def get_interface(conn: Conn, interface_id: UUID) -> Record:
    """Interfaces are public declarations: anyone may read them."""
    row = await store.get_interface(conn, interface_id)
    if row is None:
        raise NotFound("Interface not found.")
    return row


async def update_interface(
    conn: Conn, p: Principal, interface_id: UUID, body: models.InterfaceUpdate
) -> Record:
    p.require("interfaces", "update")
    row = await get_interface(conn, interface_id)
    fields = body.model_dump(exclude_unset=True)
    # ordinal may be cleared; the required columns may not.
    fields = {k: v for k, v in fields.items() if v is not None or k == "ordinal"}
    if not fields:
        return row
    with _integrity():
        updated = await store.update_interface(conn, interface_id, fields)
    assert updated is not None
    return updated


async def delete_interface(conn: Conn, p: Principal, interface_id: UUID) -> None:
    """Exposures, dependencies and surrogates go with it (foreign keys cascade)."""
    p.require("interfaces", "delete")
    if await store.delete_interface(conn, interface_id) is None:
        raise NotFound("Interface not found.")


async def list_interfaces(conn: Conn, page: PageParams, name: str | None) -> tuple[list[Record], int]:
    return await store.list_interfaces(conn, page, name)


async def _surrogate(conn: Conn, interface_id: UUID, surrogate_id: UUID) -> Record:
    row = await store.get_surrogate(conn, surrogate_id)
    if row is None or row["interface_id"] != interface_id:
        raise NotFound("Surrogate not found.")
    return row


async def create_surrogate(
    conn: Conn, p: Principal, interface_id: UUID, body: models.SurrogateCreate
) -> Record:
    p.require("interfaces", "create")
    await get_interface(conn, interface_id)
    with _integrity():
        return await store.insert_surrogate(conn, body.id or uuid4(), interface_id, body.substitute_id)


async def list_surrogates(conn: Conn, interface_id: UUID, page: PageParams) -> tuple[list[Record], int]:
    await get_interface(conn, interface_id)
    return await store.list_surrogates(conn, interface_id, page)


async def get_surrogate(conn: Conn, interface_id: UUID, surrogate_id: UUID) -> Record:
    await get_interface(conn, interface_id)
    return await _surrogate(conn, interface_id, surrogate_id)


async def update_surrogate(
    conn: Conn, p: Principal, interface_id: UUID, surrogate_id: UUID, body: models.SurrogateUpdate
) -> Record:
    p.require("interfaces", "update")
    await get_surrogate(conn, interface_id, surrogate_id)
    with _integrity():
        row = await store.update_surrogate(conn, surrogate_id, body.substitute_id)
    assert row is not None
    return row


async def delete_surrogate(conn: Conn, p: Principal, interface_id: UUID, surrogate_id: UUID) -> None:
    p.require("interfaces", "delete")
    await get_surrogate(conn, interface_id, surrogate_id)
    await store.delete_surrogate(conn, surrogate_id)
