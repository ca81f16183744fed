"""HTTP handlers of logos and screenshots: uploads, JSON, and the image streams."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from aiohttp import BodyPartReader, web
from asyncpg import Record

from hspm.catalog.access import visible_product
from hspm.catalog.keys import settings_key
from hspm.catalog.media import images, models, service, store, views
from hspm.catalog.web import base_url, tx
from hspm.common.errors import NotFound, PayloadTooLarge, Unauthorized, UnsupportedMediaType, ValidationFailed
from hspm.common.web import (
    PageParams,
    created,
    json_response,
    page_envelope,
    path_id,
    principal_of,
)
from hspm.common.web.body import parse_model, read_json

CHUNK = 64 * 1024
MAX_TEXT_PART = 4096
MAX_PARTS = 10
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif", "application/octet-stream")


# --- reading uploads --------------------------------------------------------------------


async def _bounded(chunks: AsyncIterator[bytes], limit: int, what: str) -> bytes:
    """Read at most ``limit`` bytes, stopping early (413) rather than buffering a flood."""
    buf = bytearray()
    async for chunk in chunks:
        buf += chunk
        if len(buf) > limit:
            raise PayloadTooLarge(f"The {what} exceeds {limit} bytes.")
    return bytes(buf)


async def _part_chunks(part: BodyPartReader) -> AsyncIterator[bytes]:
    while chunk := await part.read_chunk(CHUNK):
        yield chunk


async def _multipart(request: web.Request, image_fields: tuple[str, ...], limit: int) -> models.Upload:
    image: bytes | None = None
    caption: str | None = None
    reader = await request.multipart()
    for _ in range(MAX_PARTS):
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader):
            raise ValidationFailed.field("body", "nested multipart bodies are not accepted")
        if part.name in image_fields:
            image = await _bounded(_part_chunks(part), limit, "image")
        else:
            raw = await _bounded(_part_chunks(part), MAX_TEXT_PART, f"field {part.name}")
            if part.name in models.CAPTION_FIELDS:
                caption = raw.decode("utf-8", errors="replace")
    return models.Upload(image=image, caption=caption)


async def _upload(request: web.Request, kind: str) -> models.Upload:
    """Image bytes and caption from multipart, a bare image body, or JSON (caption only)."""
    if principal_of(request).is_anonymous:
        raise Unauthorized("You are not authorized, sorry! Sign in first.")
    limit = request.app[settings_key].max_image_bytes
    ctype = request.content_type
    if ctype == "multipart/form-data":
        return await _multipart(request, models.IMAGE_FIELDS[kind], limit)
    if ctype == "application/x-www-form-urlencoded":
        # Text fields only (no file can travel this way); the body limit bounds it.
        form = await request.post()
        caption = next((str(form[f]) for f in models.CAPTION_FIELDS if f in form), None)
        return models.Upload(caption=caption)
    if ctype in IMAGE_TYPES:
        return models.Upload(image=await _bounded(request.content.iter_chunked(CHUNK), limit, "image"))
    if ctype == "application/json" and kind == "screenshot":
        fields = parse_model(models.ScreenshotFields, await read_json(request), "screenshot")
        return models.Upload(caption=fields.caption)
    raise UnsupportedMediaType("Send the image as multipart/form-data or with an image Content-Type.")


def _caption(raw: str | None, required: bool) -> str | None:
    if raw is None:
        if required:
            raise ValidationFailed.field("caption", "can't be blank")
        return None
    try:
        return models.ScreenshotFields(caption=raw).caption
    except ValueError as exc:
        raise ValidationFailed.field("caption", "must be 1 to 500 characters") from exc


# --- serving images ---------------------------------------------------------------------


def _size(request: web.Request) -> str:
    size = request.match_info["size"]
    if size not in images.SIZES:
        raise NotFound("Sizes are small, medium and large.")
    return size


def _etag(*parts: object) -> str:
    return '"' + "-".join(str(p) for p in parts) + '"'


def _version(at: datetime) -> int:
    return int(at.timestamp() * 1_000_000)


def _fresh(request: web.Request, etag: str) -> bool:
    """Does the client's If-None-Match already name this version?"""
    header = request.headers.get("If-None-Match")
    if not header:
        return False
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return "*" in tags or etag in tags


def _image_response(
    request: web.Request, body: bytes | None, ctype: str, etag: str, listed: bool
) -> web.Response:
    headers = {
        "ETag": etag,
        # Drafts are seen only by their owner and operators: never in a shared cache.
        "Cache-Control": "public, max-age=300" if listed else "private, no-cache",
        "Content-Disposition": "inline",
    }
    if body is None:
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type=ctype, headers=headers)


async def logo_image(request: web.Request) -> web.Response:
    """GET /products/{id}/logo/{size}: the logo, or a generated placeholder."""
    product_id, size = path_id(request, "product_id"), _size(request)
    async with tx(request) as conn:
        product = await visible_product(conn, principal_of(request), product_id)
        row = await store.get_logo(conn, product_id)
        if row is not None:
            etag = _etag(row["id"], _version(row["updated_at"]), size)
            fresh = _fresh(request, etag)
            data = None if fresh else await store.image_bytes(conn, row["id"], size)
            return _image_response(request, data, row["content_type"], etag, product["listed"])
    # The placeholder depends only on the id and the name, so its tag is cheap to compute.
    name_tag = hashlib.sha256(product["name"].encode()).hexdigest()[:12]
    etag = _etag("placeholder", product_id, name_tag, size)
    if _fresh(request, etag):
        return _image_response(request, None, "image/png", etag, product["listed"])
    data = await asyncio.to_thread(images.placeholder, product_id, product["name"], size)
    return _image_response(request, data, "image/png", etag, product["listed"])


async def screenshot_image(request: web.Request) -> web.Response:
    """GET /products/{id}/screenshots/{id}/{size}."""
    product_id, shot_id, size = (
        path_id(request, "product_id"),
        path_id(request, "screenshot_id"),
        _size(request),
    )
    async with tx(request) as conn:
        product = await visible_product(conn, principal_of(request), product_id)
        row = await store.get_screenshot(conn, product_id, shot_id)
        if row is None:
            raise NotFound("Screenshot not found.")
        etag = _etag(row["id"], _version(row["updated_at"]), size)
        data = None if _fresh(request, etag) else await store.image_bytes(conn, row["id"], size)
        return _image_response(request, data, row["content_type"], etag, product["listed"])


# --- logos ------------------------------------------------------------------------------


def _logo_json(request: web.Request, row: Record) -> dict[str, Any]:
    return views.logo(row, base_url(request))


async def put_logo(request: web.Request) -> web.Response:
    """PUT /products/{id}/logo: replace the logo with the uploaded image."""
    product_id = path_id(request, "product_id")
    upload = await _upload(request, "logo")
    if upload.image is None:
        raise ValidationFailed.field("logo", "can't be blank")
    v = await service.prepare(upload.image, request.app[settings_key].max_image_pixels, "logo")
    async with tx(request) as conn:
        row = await service.put_logo(conn, principal_of(request), product_id, v)
    return json_response(_logo_json(request, row))


async def get_logo(request: web.Request) -> web.Response:
    async with tx(request) as conn:
        row = await service.logo(conn, principal_of(request), path_id(request, "product_id"))
    return json_response(_logo_json(request, row))


async def delete_logo(request: web.Request) -> web.Response:
    """DELETE /products/{id}/logo: back to the placeholder; 200 with what was removed."""
    p = principal_of(request)
    if p.is_anonymous:
        raise Unauthorized("You are not authorized, sorry! Sign in first.")
    async with tx(request) as conn:
        row = await service.delete_logo(conn, p, path_id(request, "product_id"))
    return json_response(_logo_json(request, row))


async def list_logos(request: web.Request) -> web.Response:
    """GET /products/{id}/logos: the spec's collection, zero or one item."""
    params = PageParams.parse(request.query, ("created_at",), "created_at")
    async with tx(request) as conn:
        rows = await service.logos(conn, principal_of(request), path_id(request, "product_id"))
    shown = rows if params.page == 1 else []
    return json_response(page_envelope([_logo_json(request, r) for r in shown], len(rows), params))


# --- screenshots ------------------------------------------------------------------------


def _shot_json(request: web.Request, row: Record) -> dict[str, Any]:
    return views.screenshot(row, base_url(request))


async def list_screenshots(request: web.Request) -> web.Response:
    params = PageParams.parse(request.query, models.SCREENSHOT_SORTS, "created_at")
    async with tx(request) as conn:
        rows, total = await service.screenshots(
            conn, principal_of(request), path_id(request, "product_id"), params
        )
    return json_response(page_envelope([_shot_json(request, r) for r in rows], total, params))


async def show_screenshot(request: web.Request) -> web.Response:
    product_id, shot_id = path_id(request, "product_id"), path_id(request, "screenshot_id")
    async with tx(request) as conn:
        row = await service.screenshot(conn, principal_of(request), product_id, shot_id)
    return json_response(_shot_json(request, row))


async def create_screenshot(request: web.Request) -> web.Response:
    """POST /products/{id}/screenshots: multipart ``caption`` and ``image``."""
    product_id = path_id(request, "product_id")
    upload = await _upload(request, "screenshot")
    caption = _caption(upload.caption, required=True)
    assert caption is not None
    if upload.image is None:
        raise ValidationFailed.field("image", "can't be blank")
    v = await service.prepare(upload.image, request.app[settings_key].max_image_pixels, "image")
    async with tx(request) as conn:
        row = await service.create_screenshot(conn, principal_of(request), product_id, caption, v)
    return created(_shot_json(request, row))


async def update_screenshot(request: web.Request) -> web.Response:
    """PUT/PATCH: a new caption, a new image, or both."""
    product_id, shot_id = path_id(request, "product_id"), path_id(request, "screenshot_id")
    upload = await _upload(request, "screenshot")
    caption = _caption(upload.caption, required=False)
    v = None
    if upload.image is not None:
        v = await service.prepare(upload.image, request.app[settings_key].max_image_pixels, "image")
    async with tx(request) as conn:
        row = await service.update_screenshot(conn, principal_of(request), product_id, shot_id, caption, v)
    return json_response(_shot_json(request, row))


async def delete_screenshot(request: web.Request) -> web.Response:
    """DELETE: 200 with the removed screenshot, as the reference server answers."""
    p = principal_of(request)
    if p.is_anonymous:
        raise Unauthorized("You are not authorized, sorry! Sign in first.")
    product_id, shot_id = path_id(request, "product_id"), path_id(request, "screenshot_id")
    async with tx(request) as conn:
        row = await service.delete_screenshot(conn, p, product_id, shot_id)
    return json_response(_shot_json(request, row))
