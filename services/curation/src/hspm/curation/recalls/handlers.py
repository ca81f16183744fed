"""HTTP handlers of recalls: parse, call the service in one transaction, render."""

from __future__ import annotations

from aiohttp import web

from hspm.common import handlers
from hspm.common.web import PageParams, json_response, page_envelope, path_id, principal_of, query_uuid
from hspm.curation.recalls import models, service, views


async def issue_recall(request: web.Request) -> web.Response:
    body = await handlers.body(request, models.RecallCreate, "recall")
    p = principal_of(request)
    return await handlers.create(request, views.recall, lambda c: service.issue(c, p, body))


async def list_recalls(request: web.Request) -> web.Response:
    """Newest first."""
    p = handlers.signed_in(request)
    product_id = query_uuid(request, "product_id")
    page = PageParams.parse(request.query, service.RECALL_SORTS, "created_at", "desc")
    async with handlers.tx(request) as conn:
        rows, total = await service.list_recalls(conn, p, page, product_id)
    base = handlers.base_url(request)
    return json_response(page_envelope([views.recall(r, base) for r in rows], total, page))


async def get_recall(request: web.Request) -> web.Response:
    p, rid = handlers.signed_in(request), path_id(request, "recall_id")
    return await handlers.show(request, views.recall, lambda c: service.get_recall(c, p, rid))
