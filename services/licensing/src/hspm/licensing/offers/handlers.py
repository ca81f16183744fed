"""HTTP handlers of product licenses: parse, call one service function, render."""

from __future__ import annotations

from uuid import UUID

from aiohttp import web

from hspm.common import handlers
from hspm.common.web import path_id, principal_of
from hspm.licensing.offers import models, service, views

WRAPPER = "product_license"


def _ids(request: web.Request) -> tuple[UUID, UUID]:
    return path_id(request, "product_id"), path_id(request, "product_license_id")


async def list_offers(request: web.Request) -> web.Response:
    pid = path_id(request, "product_id")
    return await handlers.index(
        request, views.offer, lambda c, page: service.list_offers(c, pid, page), service.SORTS, "created_at"
    )


async def create_offer(request: web.Request) -> web.Response:
    body = await handlers.body(request, models.OfferCreate, WRAPPER)
    p, pid = principal_of(request), path_id(request, "product_id")
    return await handlers.create(request, views.offer, lambda c: service.create_offer(c, p, pid, body))


async def get_offer(request: web.Request) -> web.Response:
    pid, oid = _ids(request)
    return await handlers.show(request, views.offer, lambda c: service.show_offer(c, pid, oid))


async def update_offer(request: web.Request) -> web.Response:
    body = await handlers.body(request, models.OfferUpdate, WRAPPER)
    p, pid, oid = (
        principal_of(request),
        path_id(request, "product_id"),
        path_id(request, "product_license_id"),
    )
    return await handlers.show(request, views.offer, lambda c: service.update_offer(c, p, pid, oid, body))


async def delete_offer(request: web.Request) -> web.Response:
    """200 with the withdrawn offer, as the reference server answers."""
    p, pid, oid = (
        handlers.signed_in(request),
        path_id(request, "product_id"),
        path_id(request, "product_license_id"),
    )
    return await handlers.show(request, views.offer, lambda c: service.delete_offer(c, p, pid, oid))
