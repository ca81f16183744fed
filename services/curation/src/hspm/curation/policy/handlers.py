"""HTTP handlers of the policy area: parse, call the service in one transaction, render."""

from __future__ import annotations

from aiohttp import web

from hspm.common import handlers
from hspm.common.web import json_response, path_id, principal_of, query_uuid
from hspm.common.web.body import read_json, unwrap
from hspm.curation.policy import models, service, views

EXCEPTION_SORTS = ("created_at", "rule")


async def get_policy(request: web.Request) -> web.Response:
    """Any signed-in user: ISVs should know what their builds are judged against."""
    p = handlers.signed_in(request)
    async with handlers.tx(request) as conn:
        found = await service.get_policy(conn, p)
    return json_response(views.policy(found, handlers.base_url(request)))


async def put_policy(request: web.Request) -> web.Response:
    """The body is parsed by the service, after the permission check (403 before 422)."""
    p = handlers.signed_in(request)
    data = unwrap(await read_json(request), "validation_policy")
    async with handlers.tx(request) as conn:
        row = await service.put_policy(conn, p, data)
    return json_response(views.policy(dict(row), handlers.base_url(request)))


async def list_exceptions(request: web.Request) -> web.Response:
    p = handlers.signed_in(request)
    product_id = query_uuid(request, "product_id")
    return await handlers.index(
        request,
        views.exception,
        lambda c, page: service.list_exceptions(c, p, page, product_id),
        EXCEPTION_SORTS,
        "created_at",
    )


async def get_exception(request: web.Request) -> web.Response:
    p, eid = handlers.signed_in(request), path_id(request, "exception_id")
    return await handlers.show(request, views.exception, lambda c: service.get_exception(c, p, eid))


async def create_exception(request: web.Request) -> web.Response:
    body = await handlers.body(request, models.ExceptionCreate, "exception")
    p = principal_of(request)
    return await handlers.create(request, views.exception, lambda c: service.create_exception(c, p, body))


async def delete_exception(request: web.Request) -> web.Response:
    p, eid = handlers.signed_in(request), path_id(request, "exception_id")
    return await handlers.no_content(request, lambda c: service.delete_exception(c, p, eid))
