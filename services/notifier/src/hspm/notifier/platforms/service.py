"""Rules of platforms: a user manages their own (spec 7.2 implicit rights); staff with
``platforms.*`` manage anyone's. A platform another user owns is not found, not forbidden,
so its id cannot be probed; a user's whole list asked for by someone else is forbidden.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID, uuid4

import asyncpg

from hspm.common.auth import Principal
from hspm.common.db import Conn
from hspm.common.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from hspm.common.paging import PageParams
from hspm.notifier.platforms import models, store
from hspm.notifier.stream import service as stream

Record = asyncpg.Record
SORTS = ("name", "created_at", "updated_at")
MAX_FILTER_LENGTH = 200


@contextmanager
def _unique() -> Iterator[None]:
    try:
        yield
    except asyncpg.UniqueViolationError as exc:
        field = "name" if exc.constraint_name == "platforms_user_name" else "id"
        raise Conflict(
            f"A platform with this {field} already exists.", errors={field: ["has already been taken"]}
        ) from exc


def _visible(p: Principal, row: Record | None, verb: str) -> Record:
    if row is None or not (p.may_as_owner("platforms", verb, row["user_id"]) or p.can("platforms", verb)):
        raise NotFound("Platform not found.")
    return row


async def get_platform(conn: Conn, p: Principal, platform_id: UUID, user_id: UUID | None = None) -> Record:
    """Its owner or staff with platforms.read; under /users/{user_id} it must be that user's."""
    if p.is_anonymous:
        raise Unauthorized("You are not authorized, sorry! Sign in first.")
    row = _visible(p, await store.get_platform(conn, platform_id), "read")
    if user_id is not None and row["user_id"] != user_id:
        raise NotFound("Platform not found.")
    return row


async def platform_for(
    conn: Conn, p: Principal, platform_id: UUID, verb: str, user_id: UUID | None = None
) -> Record:
    """The platform if ``p`` may ``verb`` its instances (another area's entry point);
    under /users/{user_id} it must also be that user's."""
    if p.is_anonymous:
        raise Unauthorized("You are not authorized, sorry! Sign in first.")
    row = await store.get_platform(conn, platform_id)
    if row is None or not (p.may_as_owner("instances", verb, row["user_id"]) or p.can("instances", verb)):
        raise NotFound("Platform not found.")
    if user_id is not None and row["user_id"] != user_id:
        raise NotFound("Platform not found.")
    return row


async def owned_platform(conn: Conn, platform_id: UUID) -> Record | None:
    """The platform with no rule applied: for agents already proven to be its own."""
    return await store.get_platform(conn, platform_id)


async def list_platforms(
    conn: Conn, p: Principal, page: PageParams, user_id: UUID | None, name: str | None
) -> tuple[list[Record], int]:
    """Staff see everyone's (filter by ``user_id``); a user sees their own only."""
    if p.is_anonymous:
        raise Unauthorized("You are not authorized, sorry! Sign in first.")
    if name and len(name) > MAX_FILTER_LENGTH:
        raise ValidationFailed.field("name", f"must be at most {MAX_FILTER_LENGTH} characters")
    if user_id is not None:
        p.require_or_owner("platforms", "read", user_id)
    elif not p.can("platforms", "read"):
        user_id = p.user_id
    return await store.list_platforms(conn, page, user_id, name)


async def create_platform(
    conn: Conn, p: Principal, body: models.PlatformCreate, user_id: UUID | None = None
) -> Record:
    """Under /users/{user_id} the path names the owner; the body may not name another."""
    if user_id is not None and body.user_id is not None and body.user_id != user_id:
        raise ValidationFailed.field("user_id", "must match the user in the path")
    owner = user_id or body.user_id or p.user_id
    if owner is None:
        raise ValidationFailed.field("user_id", "can't be blank for a service caller")
    p.require_or_owner("platforms", "create", owner)
    fields = {"id": body.id or uuid4(), "user_id": owner, "name": body.name, "public_key": body.public_key}
    with _unique():
        row = await store.insert_platform(conn, fields)
    await stream.open_stream(conn, row["id"])
    return row


async def update_platform(
    conn: Conn, p: Principal, platform_id: UUID, body: models.PlatformUpdate, user_id: UUID | None = None
) -> Record:
    before = await get_platform(conn, p, platform_id, user_id)
    p.require_or_owner("platforms", "update", before["user_id"])
    fields = body.model_dump(exclude_unset=True)
    if "name" in fields and fields["name"] is None:
        raise ValidationFailed.field("name", "can't be blank")
    if not fields:
        return before
    with _unique():
        row = await store.update_platform(conn, platform_id, fields)
    if row is None:
        raise NotFound("Platform not found.")
    return row


async def delete_platform(conn: Conn, p: Principal, platform_id: UUID, user_id: UUID | None = None) -> Record:
    """Its instances and stream go with it; connected agents are closed (``p:`` wake-up)."""
    before = await get_platform(conn, p, platform_id, user_id)
    p.require_or_owner("platforms", "delete", before["user_id"])
    await stream.announce(conn, f"p:{platform_id}")
    row = await store.delete_platform(conn, platform_id)
    if row is None:
        raise NotFound("Platform not found.")
    return row


async def platform_ids_of(conn: Conn, user_id: UUID) -> list[UUID]:
    return await store.platform_ids_of(conn, user_id)
