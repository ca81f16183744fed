"""HTTP handlers of logos and screenshots: uploads, JSON, and the image streams.

An upload is handled in three steps: the caller's right to change the product is checked
first (``service.may_upload``, a short read), before a byte of the body is read; then the
body is read within its size limit and decoded and resized in a thread, within the pixel
limit, outside any transaction; then the write checks the right again under the product's
row lock. A caller without the right costs no image work, and a bad image is refused
without holding a connection, let alone a row lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import BodyPartReader, web

from hspm.catalog.keys import settings_key
from hspm.catalog.media import images, models, service, views
from hspm.common import handlers
from hspm.common.errors import NotFound, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from hspm.common.web import path_id, principal_of
from hspm.common.web.body import parse_model, read_json

CHUNK = 64 * 1024
MAX_TEXT_PART = 4096
MAX_PARTS = 10
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif", "application/octet-stream")
LOGO_SORT = ("created_at",)


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
    """Image bytes and caption from multipart, a bare image body, or JSON (caption only).

    Only once the caller may change the product: the body is neither read nor decoded before.
    """
    p, product_id = handlers.signed_in(request), path_id(request, "product_id")
    async with handlers.tx(request) as conn:
        await service.may_upload(conn, p, product_id)
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


async def _variants(request: web.Request, data: bytes, field: str) -> images.Variants:
    """Validate and resize off the event loop: decoding a large image takes many ms."""
    max_pixels = request.app[settings_key].max_image_pixels
    return await asyncio.to_thread(images.variants, data, max_pixels, field)


# --- serving images ---------------------------------------------------------------------


def _size(request: web.Request) -> str:
    size = request.match_info["size"]
    if size not in images.SIZES:
        raise NotFound("Sizes are small, medium and large.")
    return size


def _cached(request: web.Request) -> frozenset[str]:
    """The entity tags the client already holds (``If-None-Match``), weak or strong alike."""
    header = request.headers.get("If-None-Match") or ""
    return frozenset(t.strip().removeprefix("W/") for t in header.split(",") if t.strip())


async def _image_response(served: service.Served, size: str) -> web.Response:
    headers = {
        "ETag": served.etag,
        # Drafts are seen only by their owner and operators: never in a shared cache.
        "Cache-Control": "public, max-age=300" if served.listed else "private, no-cache",
        "Content-Disposition": "inline",
    }
    body = served.data
    if served.placeholder is not None:
        body = await asyncio.to_thread(images.placeholder, *served.placeholder, size)
    if body is None:
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type=served.content_type, headers=headers)


async def logo_image(request: web.Request) -> web.Response:
    """GET /products/{id}/logo/{size}: the logo, or a generated placeholder."""
    p, product_id, size = principal_of(request), path_id(request, "product_id"), _size(request)
    async with handlers.tx(request) as conn:
        served = await service.logo_image(conn, p, product_id, size, _cached(request))
    return await _image_response(served, size)


async def screenshot_image(request: web.Request) -> web.Response:
    """GET /products/{id}/screenshots/{id}/{size}."""
    p, product_id = principal_of(request), path_id(request, "product_id")
    shot_id, size = path_id(request, "screenshot_id"), _size(request)
    async with handlers.tx(request) as conn:
        served = await service.screenshot_image(conn, p, product_id, shot_id, size, _cached(request))
    return await _image_response(served, size)


# --- logos ------------------------------------------------------------------------------


async def put_logo(request: web.Request) -> web.Response:
    """PUT /products/{id}/logo: replace the logo with the uploaded image."""
    product_id = path_id(request, "product_id")
    upload = await _upload(request, "logo")
    if upload.image is None:
        raise ValidationFailed.field("logo", "can't be blank")
    v = await _variants(request, upload.image, "logo")
    p = principal_of(request)
    return await handlers.show(request, views.logo, lambda c: service.put_logo(c, p, product_id, v))


async def get_logo(request: web.Request) -> web.Response:
    p, product_id = principal_of(request), path_id(request, "product_id")
    return await handlers.show(request, views.logo, lambda c: service.logo(c, p, product_id))


async def delete_logo(request: web.Request) -> web.Response:
    """DELETE /products/{id}/logo: back to the placeholder; 200 with what was removed."""
    p, product_id = handlers.signed_in(request), path_id(request, "product_id")
    return await handlers.show(request, views.logo, lambda c: service.delete_logo(c, p, product_id))


async def list_logos(request: web.Request) -> web.Response:
    """GET /products/{id}/logos: the spec's collection, zero or one item."""
    p, product_id = principal_of(request), path_id(request, "product_id")
    return await handlers.index(
        request, views.logo, lambda c, page: service.logos(c, p, product_id, page), LOGO_SORT, "created_at"
    )


# --- screenshots ------------------------------------------------------------------------


async def list_screenshots(request: web.Request) -> web.Response:
    p, product_id = principal_of(request), path_id(request, "product_id")
    return await handlers.index(
        request,
        views.screenshot,
        lambda c, page: service.screenshots(c, p, product_id, page),
        models.SCREENSHOT_SORTS,
        "created_at",
    )


async def show_screenshot(request: web.Request) -> web.Response:
    p, product_id, shot_id = (
        principal_of(request),
        path_id(request, "product_id"),
        path_id(request, "screenshot_id"),
    )
    return await handlers.show(
        request, views.screenshot, lambda c: service.screenshot(c, p, product_id, shot_id)
    )


async def create_screenshot(request: web.Request) -> web.Response:
    """POST /products/{id}/screenshots: multipart ``caption`` and ``image``."""
    product_id = path_id(request, "product_id")
    upload = await _upload(request, "screenshot")
    caption = _caption(upload.caption, required=True)
    assert caption is not None
    if upload.image is None:
        raise ValidationFailed.field("image", "can't be blank")
    v = await _variants(request, upload.image, "image")
    p = principal_of(request)
    return await handlers.create(
        request, views.screenshot, lambda c: service.create_screenshot(c, p, product_id, caption, v)
    )


async def update_screenshot(request: web.Request) -> web.Response:
    """PUT/PATCH: a new caption, a new image, or both."""
    product_id, shot_id = path_id(request, "product_id"), path_id(request, "screenshot_id")
    upload = await _upload(request, "screenshot")
    caption = _caption(upload.caption, required=False)
    v = None if upload.image is None else await _variants(request, upload.image, "image")
    p = principal_of(request)
    return await handlers.show(
        request,
        views.screenshot,
        lambda c: service.update_screenshot(c, p, product_id, shot_id, caption, v),
    )


async def delete_screenshot(request: web.Request) -> web.Response:
    """DELETE: 200 with the removed screenshot, as the reference server answers."""
    p = handlers.signed_in(request)
    product_id, shot_id = path_id(request, "product_id"), path_id(request, "screenshot_id")
    return await handlers.show(
        request, views.screenshot, lambda c: service.delete_screenshot(c, p, product_id, shot_id)
    )
