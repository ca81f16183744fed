"""HTTP handlers of licenses: parse, call one service function, render."""

from __future__ import annotations

from aiohttp import web

from hspm.common import handlers
from hspm.common.web import json_response, path_id, principal_of
from hspm.licensing.licenses import models, service, views


async def list_licenses(request: web.Request) -> web.Response:
    name = request.query.get("name") or None
    expiry = request.query.get("expiry") or None
    return await handlers.index(
        request,
        views.license,
        lambda c, page: service.list_licenses(c, page, name, expiry),
        service.SORTS,
        "name",
    )


async def create_license(request: web.Request) -> web.Response:
    body = await handlers.body(request, models.LicenseCreate, "license")
    p = principal_of(request)
    async with handlers.tx(request) as conn:
        row = await service.create_license(conn, p, body)
    rendered = views.license(row, handlers.base_url(request))
    # ``created`` would send the terms' url as Location; the license's own address it is.
    return json_response(rendered, status=201, headers={"Location": rendered["href"]})


async def get_license(request: web.Request) -> web.Response:
    p, lid = principal_of(request), path_id(request, "license_id")
    return await handlers.show(request, views.license, lambda c: service.get_license(c, p, lid))


async def update_license(request: web.Request) -> web.Response:
    body = await handlers.body(request, models.LicenseUpdate, "license")
    p, lid = principal_of(request), path_id(request, "license_id")
    return await handlers.show(request, views.license, lambda c: service.update_license(c, p, lid, body))


async def delete_license(request: web.Request) -> web.Response:
    """200 with the deleted license, as the reference server answers."""
    p, lid = handlers.signed_in(request), path_id(request, "license_id")
    return await handlers.show(request, views.license, lambda c: service.delete_license(c, p, lid))
