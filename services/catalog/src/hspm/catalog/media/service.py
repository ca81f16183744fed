"""Rules of logos and screenshots: who may see or change them, caption uniqueness."""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid4

import asyncpg
from asyncpg import Record

from hspm.catalog.access import product_for_change, visible_product
from hspm.catalog.media import store
from hspm.catalog.media.images import Variants, variants
from hspm.common.auth import Principal
from hspm.common.db import Conn
from hspm.common.errors import NotFound, ValidationFailed
from hspm.common.web import PageParams

TAKEN = "has already been taken"


async def prepare(data: bytes, max_pixels: int, field: str) -> Variants:
    """Validate and resize off the event loop: decoding a large image takes many ms."""
    return await asyncio.to_thread(variants, data, max_pixels, field)


async def put_logo(conn: Conn, p: Principal, product_id: UUID, v: Variants) -> Record:
    await product_for_change(conn, p, product_id, "products", "update")
    return await store.put_logo(conn, uuid4(), product_id, v)


async def delete_logo(conn: Conn, p: Principal, product_id: UUID) -> Record:
    await product_for_change(conn, p, product_id, "products", "update")
    row = await store.delete_logo(conn, product_id)
    if row is None:
        raise NotFound("This product has no logo.")
    return row


async def logos(conn: Conn, p: Principal, product_id: UUID) -> list[Record]:
    """The spec's ``/logos`` collection: zero or one logo."""
    await visible_product(conn, p, product_id)
    row = await store.get_logo(conn, product_id)
    return [row] if row is not None else []


async def logo(conn: Conn, p: Principal, product_id: UUID) -> Record:
    await visible_product(conn, p, product_id)
    row = await store.get_logo(conn, product_id)
    if row is None:
        raise NotFound("This product has no logo.")
    return row


async def screenshots(
    conn: Conn, p: Principal, product_id: UUID, page: PageParams
) -> tuple[list[Record], int]:
    await visible_product(conn, p, product_id)
    return await store.list_screenshots(conn, product_id, page)


async def screenshot(conn: Conn, p: Principal, product_id: UUID, screenshot_id: UUID) -> Record:
    await visible_product(conn, p, product_id)
    row = await store.get_screenshot(conn, product_id, screenshot_id)
    if row is None:
        raise NotFound("Screenshot not found.")
    return row


async def create_screenshot(conn: Conn, p: Principal, product_id: UUID, caption: str, v: Variants) -> Record:
    await product_for_change(conn, p, product_id, "products", "update")
    try:
        return await store.insert_screenshot(conn, uuid4(), product_id, caption, v)
    except asyncpg.UniqueViolationError as exc:
        raise ValidationFailed.field("caption", TAKEN) from exc


async def update_screenshot(
    conn: Conn, p: Principal, product_id: UUID, screenshot_id: UUID, caption: str | None, v: Variants | None
) -> Record:
    await product_for_change(conn, p, product_id, "products", "update")
    if await store.get_screenshot(conn, product_id, screenshot_id) is None:
        raise NotFound("Screenshot not found.")
    try:
        row = await store.update_screenshot(conn, screenshot_id, caption, v)
    except asyncpg.UniqueViolationError as exc:
        raise ValidationFailed.field("caption", TAKEN) from exc
    assert row is not None
    return row


async def delete_screenshot(conn: Conn, p: Principal, product_id: UUID, screenshot_id: UUID) -> Record:
    await product_for_change(conn, p, product_id, "products", "update")
    if await store.get_screenshot(conn, product_id, screenshot_id) is None:
        raise NotFound("Screenshot not found.")
    row = await store.delete_screenshot(conn, screenshot_id)
    assert row is not None
    return row
