"""Rules of logos and screenshots: who may see or change them, caption uniqueness, image versions.

Seeing media follows its product (``products.service.visible_product``); changing it is
changing the product (``products.update``, or its owner).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid4

import asyncpg
from asyncpg import Record

from hspm.catalog.media import store
from hspm.catalog.media.images import Variants
from hspm.catalog.products import service as products
from hspm.common.auth import Principal
from hspm.common.db import Conn
from hspm.common.errors import NotFound, ValidationFailed
from hspm.common.paging import PageParams

TAKEN = "has already been taken"


@dataclass(frozen=True)
class Served:
    """What an image URL answers: the bytes, or None when the caller's copy is current.

    A product without a logo has a ``placeholder`` (its id and name) to draw instead,
    outside the transaction. ``listed`` says whether shared caches may keep the image:
    a draft's is seen only by its owner and operators.
    """

    etag: str
    content_type: str
    listed: bool
    data: bytes | None = None
    placeholder: tuple[UUID, str] | None = None


def _etag(*parts: object) -> str:
    return '"' + "-".join(str(p) for p in parts) + '"'


def _version(at: datetime) -> int:
    return int(at.timestamp() * 1_000_000)


def _current(etag: str, cached: frozenset[str]) -> bool:
    """Does the caller already hold this version (its ``If-None-Match`` tags)?"""
    return "*" in cached or etag in cached


async def _stored(conn: Conn, row: Record, size: str, listed: bool, cached: frozenset[str]) -> Served:
    """A stored image, its bytes read only when the caller's copy is stale."""
    etag = _etag(row["id"], _version(row["updated_at"]), size)
    data = None if _current(etag, cached) else await store.image_bytes(conn, row["id"], size)
    return Served(etag, row["content_type"], listed, data)


async def logo_image(conn: Conn, p: Principal, product_id: UUID, size: str, cached: frozenset[str]) -> Served:
    """The logo in ``size``, or a placeholder with the product's initials."""
    product = await products.visible_product(conn, p, product_id)
    row = await store.get_logo(conn, product_id)
    if row is not None:
        return await _stored(conn, row, size, product["listed"], cached)
    # The placeholder depends only on the id and the name, so its tag is cheap to compute.
    name_tag = hashlib.sha256(product["name"].encode()).hexdigest()[:12]
    etag = _etag("placeholder", product_id, name_tag, size)
    placeholder = None if _current(etag, cached) else (product_id, product["name"])
    return Served(etag, "image/png", product["listed"], placeholder=placeholder)


async def screenshot_image(
    conn: Conn, p: Principal, product_id: UUID, screenshot_id: UUID, size: str, cached: frozenset[str]
) -> Served:
    product = await products.visible_product(conn, p, product_id)
    row = await store.get_screenshot(conn, product_id, screenshot_id)
    if row is None:
        raise NotFound("Screenshot not found.")
    return await _stored(conn, row, size, product["listed"], cached)


# --- logos ------------------------------------------------------------------------------


async def _for_change(conn: Conn, p: Principal, product_id: UUID) -> None:
    await products.product_for_change(conn, p, product_id, "products", "update")


async def may_upload(conn: Conn, p: Principal, product_id: UUID) -> None:
    """404 or 403 unless the caller may change this product's media; no lock is taken.

    Asked before an upload's body is read or decoded, so a caller without the right costs
    no image work; the write that follows checks again under the product's row lock.
    """
    product = await products.visible_product(conn, p, product_id)
    p.require_or_owner("products", "update", product["user_id"])


async def put_logo(conn: Conn, p: Principal, product_id: UUID, v: Variants) -> Record:
    await _for_change(conn, p, product_id)
    return await store.put_logo(conn, uuid4(), product_id, v)


async def delete_logo(conn: Conn, p: Principal, product_id: UUID) -> Record:
    await _for_change(conn, p, product_id)
    row = await store.delete_logo(conn, product_id)
    if row is None:
        raise NotFound("This product has no logo.")
    return row


async def logos(conn: Conn, p: Principal, product_id: UUID, page: PageParams) -> tuple[list[Record], int]:
    """The spec's ``/logos`` collection: zero or one logo, on the first page."""
    await products.visible_product(conn, p, product_id)
    row = await store.get_logo(conn, product_id)
    rows = [row] if row is not None else []
    return (rows if page.page == 1 else []), len(rows)


async def logo(conn: Conn, p: Principal, product_id: UUID) -> Record:
    await products.visible_product(conn, p, product_id)
    row = await store.get_logo(conn, product_id)
    if row is None:
        raise NotFound("This product has no logo.")
    return row


# --- screenshots ------------------------------------------------------------------------


async def screenshots(
    conn: Conn, p: Principal, product_id: UUID, page: PageParams
) -> tuple[list[Record], int]:
    await products.visible_product(conn, p, product_id)
    return await store.list_screenshots(conn, product_id, page)


async def screenshot(conn: Conn, p: Principal, product_id: UUID, screenshot_id: UUID) -> Record:
    await products.visible_product(conn, p, product_id)
    return await _screenshot(conn, product_id, screenshot_id)


async def _screenshot(conn: Conn, product_id: UUID, screenshot_id: UUID) -> Record:
    row = await store.get_screenshot(conn, product_id, screenshot_id)
    if row is None:
        raise NotFound("Screenshot not found.")
    return row


async def create_screenshot(conn: Conn, p: Principal, product_id: UUID, caption: str, v: Variants) -> Record:
    await _for_change(conn, p, product_id)
    try:
        return await store.insert_screenshot(conn, uuid4(), product_id, caption, v)
    except asyncpg.UniqueViolationError as exc:
        raise ValidationFailed.field("caption", TAKEN) from exc


async def update_screenshot(
    conn: Conn, p: Principal, product_id: UUID, screenshot_id: UUID, caption: str | None, v: Variants | None
) -> Record:
    await _for_change(conn, p, product_id)
    await _screenshot(conn, product_id, screenshot_id)
    try:
        row = await store.update_screenshot(conn, screenshot_id, caption, v)
    except asyncpg.UniqueViolationError as exc:
        raise ValidationFailed.field("caption", TAKEN) from exc
    assert row is not None
    return row


async def delete_screenshot(conn: Conn, p: Principal, product_id: UUID, screenshot_id: UUID) -> Record:
    await _for_change(conn, p, product_id)
    await _screenshot(conn, product_id, screenshot_id)
    row = await store.delete_screenshot(conn, screenshot_id)
    assert row is not None
    return row
