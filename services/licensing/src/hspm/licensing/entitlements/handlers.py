"""HTTP handlers of entitlements and claims: parse, one service call, render."""

from __future__ import annotations

from aiohttp import web

from hspm.common import handlers
from hspm.common.web import path_id, principal_of, query_uuid
from hspm.licensing.entitlements import models, service, views

CLAIM_SORTS = ("created_at", "authorized_at")
_FILTERS = ("user_id", "product_id", "product_license_id", "license_id")

# --- entitlements -------------------------------------------------------------------------------


async def create_entitlement(request: web.Request) -> web.Response:
    body = await handlers.body(request, models.EntitlementCreate, "entitlement")
    p = principal_of(request)
    return await handlers.create(request, views.entitlement, lambda c: service.create_entitlement(c, p, body))


async def list_entitlements(request: web.Request) -> web.Response:
    p = handlers.signed_in(request)
    filters = {name: query_uuid(request, name) for name in _FILTERS} | {
        "state": request.query.get("state") or None
    }
    return await handlers.index(
        request,
        views.entitlement,
        lambda c, page: service.list_entitlements(c, p, page, filters),
        service.SORTS,
        "created_at",
    )


async def get_entitlement(request: web.Request) -> web.Response:
    p, eid = handlers.signed_in(request), path_id(request, "entitlement_id")
    return await handlers.show(request, views.entitlement, lambda c: service.get_entitlement(c, p, eid))


async def update_entitlement(request: web.Request) -> web.Response:
    body = await handlers.body(request, models.EntitlementUpdate, "entitlement")
    p, eid = principal_of(request), path_id(request, "entitlement_id")
    return await handlers.show(
        request, views.entitlement, lambda c: service.update_entitlement(c, p, eid, body)
    )


async def revoke_entitlement(request: web.Request) -> web.Response:
    p, eid = handlers.signed_in(request), path_id(request, "entitlement_id")
    return await handlers.no_content(request, lambda c: service.revoke_entitlement(c, p, eid))


# --- claims ----------------------------------------------------------------------------------------


async def create_claim(request: web.Request) -> web.Response:
    body = await handlers.body(request, models.ClaimCreate, "claim")
    p, eid = principal_of(request), path_id(request, "entitlement_id")
    return await handlers.create(request, views.claim, lambda c: service.create_claim(c, p, eid, body))


async def list_claims(request: web.Request) -> web.Response:
    p, eid = handlers.signed_in(request), path_id(request, "entitlement_id")
    return await handlers.index(
        request, views.claim, lambda c, page: service.list_claims(c, p, eid, page), CLAIM_SORTS, "created_at"
    )


async def get_claim(request: web.Request) -> web.Response:
    p, eid, cid = (
        handlers.signed_in(request),
        path_id(request, "entitlement_id"),
        path_id(request, "claim_id"),
    )
    return await handlers.show(request, views.claim, lambda c: service.get_claim(c, p, eid, cid))


async def delete_claim(request: web.Request) -> web.Response:
    p, eid, cid = (
        handlers.signed_in(request),
        path_id(request, "entitlement_id"),
        path_id(request, "claim_id"),
    )
    return await handlers.no_content(request, lambda c: service.delete_claim(c, p, eid, cid))
