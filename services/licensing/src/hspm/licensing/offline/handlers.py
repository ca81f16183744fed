"""HTTP handlers of offline licenses: parse, call the service, render."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from hspm.common import handlers
from hspm.common.web import json_response, path_id
from hspm.licensing.keys import settings_key
from hspm.licensing.offline import service, views
from hspm.licensing.offline.keys import signing_keys_key

# A license document is a credential: no shared cache keeps it. The key set is public.
PRIVATE = {"Cache-Control": "no-store"}
PUBLIC = {"Cache-Control": "public, max-age=300"}


async def get_license_document(request: web.Request) -> web.Response:
    p, eid = handlers.signed_in(request), path_id(request, "entitlement_id")
    keys, days = request.app[signing_keys_key], request.app[settings_key].offline_license_days
    now, issuer = datetime.now(UTC), handlers.base_url(request)
    async with handlers.tx(request, read_only=True) as conn:
        doc = await service.document(conn, p, eid, keys, now=now, issuer=issuer, days=days)
    return json_response(doc, headers=PRIVATE)


async def get_license_status(request: web.Request) -> web.Response:
    p, eid = handlers.signed_in(request), path_id(request, "entitlement_id")
    return await handlers.show(request, views.status, lambda c: service.status(c, p, eid))


async def get_license_keys(request: web.Request) -> web.Response:
    """Public: the current signing key and the retired ones still verifying documents."""
    return json_response(request.app[signing_keys_key].jwks(), headers=PUBLIC)
