"""HTTP handlers of recall notices."""

from __future__ import annotations

from aiohttp import web

from hspm.common import handlers
from hspm.common.web import path_id, principal_of, query_bool, query_uuid
from hspm.notifier.notices import service, views


async def list_notices(request: web.Request) -> web.Response:
    p, rid, pending = principal_of(request), query_uuid(request, "recall_id"), query_bool(request, "pending")
    return await handlers.index(
        request,
        views.notice,
        lambda c, page: service.list_notices(c, p, page, rid, pending),
        service.SORTS,
        "notified_at",
    )


async def acknowledge(request: web.Request) -> web.Response:
    p, pid, rid = handlers.signed_in(request), path_id(request, "platform_id"), path_id(request, "recall_id")
    return await handlers.show(request, views.notice, lambda c: service.acknowledge_as(c, p, pid, rid))
