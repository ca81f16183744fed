"""HTTP handlers of the marketplace area: parse, call the service in one transaction, render."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from aiohttp import web

from hspm.catalog.marketplace import service, views
from hspm.catalog.marketplace.schema import MAX_DOCUMENT_BYTES
from hspm.common import handlers
from hspm.common.errors import PayloadTooLarge
from hspm.common.web import created, json_response, path_id, principal_of, query_bool
from hspm.common.web.body import read_json

_TOO_LARGE = f"A marketplace.json document must be at most {MAX_DOCUMENT_BYTES} bytes."


async def _document(request: web.Request) -> tuple[bytes, Any]:
    """The posted document's bytes and parsed JSON, at most ``MAX_DOCUMENT_BYTES`` (413)."""
    if request.content_length is not None and request.content_length > MAX_DOCUMENT_BYTES:
        raise PayloadTooLarge(_TOO_LARGE)
    document = await read_json(request)
    raw = await request.read()  # the same bytes read_json parsed (aiohttp keeps them)
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise PayloadTooLarge(_TOO_LARGE)
    return raw, document


async def validate_document(request: web.Request) -> web.Response:
    """Anyone may ask, signed in or not: ISV pipelines check documents before submitting."""
    _, document = await _document(request)
    return json_response((await service.validate_document(document)).as_json())


async def import_build(request: web.Request) -> web.Response:
    """Create a build from the posted marketplace.json (201, with its warnings)."""
    p = handlers.signed_in(request)
    product_id = path_id(request, "product_id")
    raw, document = await _document(request)
    version = request.query.get("version") or None
    async with handlers.tx(request) as conn:
        result = await service.import_build(conn, p, product_id, raw, document, version)
    return created(views.imported(result.build, handlers.base_url(request), result.warnings))


async def marketplace_json(request: web.Request) -> web.Response:
    """The build's canonical document (or ``?raw=true``: as submitted), ready to sign."""
    p = principal_of(request)
    product_id = path_id(request, "product_id")
    build_id = path_id(request, "build_id")
    raw = query_bool(request, "raw") or False
    base = handlers.base_url(request)
    async with handlers.tx(request) as conn:
        body = await service.document_bytes(conn, p, product_id, build_id, raw=raw, marketplace_url=base)
    return _signed_bytes(request, body)


def _signed_bytes(request: web.Request, body: bytes) -> web.Response:
    """The bytes with their SHA-256 as ETag and as digest fields, so signers can check them."""
    digest = hashlib.sha256(body).digest()
    b64 = base64.b64encode(digest).decode("ascii")
    headers = {
        "ETag": f'"{digest.hex()}"',
        "Repr-Digest": f"sha-256=:{b64}:",  # RFC 9530
        "Digest": f"sha-256={b64}",  # RFC 3230, for older clients
        "Cache-Control": "private, no-cache",
    }
    if headers["ETag"] in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type="application/json", headers=headers)
