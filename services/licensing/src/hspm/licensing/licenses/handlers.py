"""HTTP handlers of licenses: parse, call one service function, render."""

from __future__ import annotations

from aiohttp import web
from pydantic import ValidationError

from hspm.common import handlers
from hspm.common.errors import ValidationFailed
from hspm.common.web import json_response, path_id, principal_of
from hspm.common.web.body import M, read_json, unwrap, validation_errors
from hspm.licensing.licenses import models, service, views


async def _body(request: web.Request, model: type[M]) -> M:
    """Like ``handlers.body``, but keeping ``url``: a license's url is its terms' address,
    not the server-owned link the shared reader drops from echoed bodies."""
    handlers.signed_in(request)
    data = unwrap(await read_json(request), "license")
    if not isinstance(data, dict):
        raise ValidationFailed.field("license", "must be a JSON object")
    data = {k: v for k, v in data.items() if k not in ("created_at", "updated_at", "href")}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_errors(exc) from exc


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
    body = await _body(request, models.LicenseCreate)
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
    body = await _body(request, models.LicenseUpdate)
    p, lid = principal_of(request), path_id(request, "license_id")
    return await handlers.show(request, views.license, lambda c: service.update_license(c, p, lid, body))


async def delete_license(request: web.Request) -> web.Response:
    """200 with the deleted license, as the reference server answers."""
    p, lid = handlers.signed_in(request), path_id(request, "license_id")
    return await handlers.show(request, views.license, lambda c: service.delete_license(c, p, lid))
