"""HTTP handlers of agent keys."""

from __future__ import annotations

from aiohttp import web

from hspm.common import handlers
from hspm.common.web import json_response, path_id, principal_of
from hspm.notifier.credentials import models, service, views


async def list_keys(request: web.Request) -> web.Response:
    p, pid = principal_of(request), path_id(request, "platform_id")
    async with handlers.tx(request) as conn:
        rows = await service.list_keys(conn, p, pid)
    return json_response(views.key_list(rows, handlers.base_url(request)))


async def add_key(request: web.Request) -> web.Response:
    body = await handlers.body(request, models.KeyCreate, "key")
    p, pid = principal_of(request), path_id(request, "platform_id")
    return await handlers.create(request, views.agent_key, lambda c: service.add_key(c, p, pid, body))


async def get_key(request: web.Request) -> web.Response:
    p, pid, kid = principal_of(request), path_id(request, "platform_id"), path_id(request, "key_id")
    return await handlers.show(request, views.agent_key, lambda c: service.get_key(c, p, pid, kid))


async def revoke_key(request: web.Request) -> web.Response:
    """200 with the key, now showing ``revoked_at``."""
    p, pid, kid = handlers.signed_in(request), path_id(request, "platform_id"), path_id(request, "key_id")
    return await handlers.show(request, views.agent_key, lambda c: service.revoke_key(c, p, pid, kid))
