"""HTTP handlers of interfaces and surrogates: parse, call one service function, render."""

from __future__ import annotations

from aiohttp import web

from hspm.catalog.interfaces import models, service, views
from hspm.common import handlers
from hspm.common.web import path_id, principal_of


async def list_interfaces(request: web.Request) -> web.Response:
    name = request.query.get("name") or None
    return await handlers.index(
        request,
        views.interface,
        lambda c, page: service.list_interfaces(c, page, name),
        service.SORTS,
        "name",
    )


async def create_interface(request: web.Request) -> web.Response:
    body = await handlers.body(request, models.InterfaceCreate, "interface")
    p = principal_of(request)
    return await handlers.create(request, views.interface, lambda c: service.create_interface(c, p, body))


async def get_interface(request: web.Request) -> web.Response:
    iid = path_id(request, "interface_id")
    return await handlers.show(request, views.interface, lambda c: service.get_interface(c, iid))


async def update_interface(request: web.Request) -> web.Response:
    body = await handlers.body(request, models.InterfaceUpdate, "interface")
    p, iid = principal_of(request), path_id(request, "interface_id")
    return await handlers.show(request, views.interface, lambda c: service.update_interface(c, p, iid, body))


async def delete_interface(request: web.Request) -> web.Response:
    p, iid = handlers.signed_in(request), path_id(request, "interface_id")
    return await handlers.no_content(request, lambda c: service.delete_interface(c, p, iid))


# --- surrogates: interfaces that may stand in for another ---------------------------------


async def list_surrogates(request: web.Request) -> web.Response:
    iid = path_id(request, "interface_id")
    return await handlers.index(
        request,
        views.surrogate,
        lambda c, page: service.list_surrogates(c, iid, page),
        service.SURROGATE_SORTS,
        "created_at",
    )


async def create_surrogate(request: web.Request) -> web.Response:
    body = await handlers.body(request, models.SurrogateCreate, "surrogate")
    p, iid = principal_of(request), path_id(request, "interface_id")
    return await handlers.create(
        request, views.surrogate, lambda c: service.create_surrogate(c, p, iid, body)
    )


async def get_surrogate(request: web.Request) -> web.Response:
    iid, sid = path_id(request, "interface_id"), path_id(request, "surrogate_id")
    return await handlers.show(request, views.surrogate, lambda c: service.get_surrogate(c, iid, sid))


async def update_surrogate(request: web.Request) -> web.Response:
    body = await handlers.body(request, models.SurrogateUpdate, "surrogate")
    p, iid, sid = principal_of(request), path_id(request, "interface_id"), path_id(request, "surrogate_id")
    return await handlers.show(
        request, views.surrogate, lambda c: service.update_surrogate(c, p, iid, sid, body)
    )


async def delete_surrogate(request: web.Request) -> web.Response:
    p = handlers.signed_in(request)
    iid, sid = path_id(request, "interface_id"), path_id(request, "surrogate_id")
    return await handlers.no_content(request, lambda c: service.delete_surrogate(c, p, iid, sid))
