"""HTTP handlers of interfaces and surrogates."""

from __future__ import annotations

from aiohttp import web

from hspm.catalog.interfaces import models, service, views
from hspm.catalog.web import base_url, tx
from hspm.common.web import PageParams, created, json_response, page_envelope, path_id, principal_of
from hspm.common.web.handlers import body as read_body
from hspm.common.web.handlers import signed_in


async def list_interfaces(request: web.Request) -> web.Response:
    page = PageParams.parse(request.query, service.SORTS, "name")
    async with tx(request) as conn:
        rows, total = await service.list_interfaces(conn, page, request.query.get("name") or None)
    base = base_url(request)
    return json_response(page_envelope([views.interface(r, base) for r in rows], total, page))


async def create_interface(request: web.Request) -> web.Response:
    body = await read_body(request, models.InterfaceCreate, "interface")
    async with tx(request) as conn:
        row = await service.create_interface(conn, principal_of(request), body)
    return created(views.interface(row, base_url(request)))


async def get_interface(request: web.Request) -> web.Response:
    iid = path_id(request, "interface_id")
    async with tx(request) as conn:
        row = await service.get_interface(conn, iid)
    return json_response(views.interface(row, base_url(request)))


async def update_interface(request: web.Request) -> web.Response:
    body = await read_body(request, models.InterfaceUpdate, "interface")
    iid = path_id(request, "interface_id")
    async with tx(request) as conn:
        row = await service.update_interface(conn, principal_of(request), iid, body)
    return json_response(views.interface(row, base_url(request)))


async def delete_interface(request: web.Request) -> web.Response:
    p, iid = signed_in(request), path_id(request, "interface_id")
    async with tx(request) as conn:
        await service.delete_interface(conn, p, iid)
    return web.Response(status=204)


async def list_surrogates(request: web.Request) -> web.Response:
    iid = path_id(request, "interface_id")
    page = PageParams.parse(request.query, service.SURROGATE_SORTS, "created_at")
    async with tx(request) as conn:
        rows, total = await service.list_surrogates(conn, iid, page)
    base = base_url(request)
    return json_response(page_envelope([views.surrogate(r, base) for r in rows], total, page))


async def create_surrogate(request: web.Request) -> web.Response:
    body = await read_body(request, models.SurrogateCreate, "surrogate")
    iid = path_id(request, "interface_id")
    async with tx(request) as conn:
        row = await service.create_surrogate(conn, principal_of(request), iid, body)
    return created(views.surrogate(row, base_url(request)))


async def get_surrogate(request: web.Request) -> web.Response:
    iid, sid = path_id(request, "interface_id"), path_id(request, "surrogate_id")
    async with tx(request) as conn:
        row = await service.get_surrogate(conn, iid, sid)
    return json_response(views.surrogate(row, base_url(request)))


async def update_surrogate(request: web.Request) -> web.Response:
    body = await read_body(request, models.SurrogateUpdate, "surrogate")
    iid, sid = path_id(request, "interface_id"), path_id(request, "surrogate_id")
    async with tx(request) as conn:
        row = await service.update_surrogate(conn, principal_of(request), iid, sid, body)
    return json_response(views.surrogate(row, base_url(request)))


async def delete_surrogate(request: web.Request) -> web.Response:
    p = signed_in(request)
    iid, sid = path_id(request, "interface_id"), path_id(request, "surrogate_id")
    async with tx(request) as conn:
        await service.delete_surrogate(conn, p, iid, sid)
    return web.Response(status=204)
