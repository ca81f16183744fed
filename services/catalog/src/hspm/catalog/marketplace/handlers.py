"""HTTP handlers of the marketplace area: parse, call the service in one transaction, render."""

from __future__ import annotations

import base64
import hashlib

from aiohttp import web

from hspm.catalog.marketplace import service, views
from hspm.catalog.marketplace.schema import validate
from hspm.catalog.web import base_url, tx
from hspm.common.errors import Unauthorized
from hspm.common.web import created, json_response, path_id, principal_of, query_bool
from hspm.common.web.body import read_json


async def validate_document(request: web.Request) -> web.Response:
    """Anyone may ask, signed in or not: ISV pipelines check documents before submitting."""
    document = await read_json(request)
    return json_response(validate(document).as_json())


async def import_build(request: web.Request) -> web.Response:
    """Create a build from the posted marketplace.json (201, with its warnings)."""
    p = principal_of(request)
    if p.is_anonymous:
        raise Unauthorized("You are not authorized, sorry! Sign in first.")
    product_id = path_id(request, "product_id")
    document = await read_json(request)
    raw = await request.read()  # the same bytes read_json parsed (aiohttp keeps them)
    version = request.query.get("version") or None
    async with tx(request) as conn:
        result = await service.import_build(conn, p, product_id, raw, document, version)
    return created(views.imported(result.build, base_url(request), result.warnings))


async def marketplace_json(request: web.Request) -> web.Response:
    """The build's canonical document (or ``?raw=true``: as submitted), ready to sign."""
    p = principal_of(request)
    product_id = path_id(request, "product_id")
    build_id = path_id(request, "build_id")
    raw = query_bool(request, "raw") or False
    async with tx(request) as conn:
        body = await service.document_bytes(
            conn, p, product_id, build_id, raw=raw, marketplace_url=base_url(request)
        )
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
