"""HTTP handlers of vouchers: parse, one service call, render."""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp import web

from hspm.common import handlers
from hspm.common.auth import Principal
from hspm.common.handlers import Render
from hspm.common.web import created, json_response, path_id, principal_of, query_bool, query_uuid
from hspm.licensing.entitlements import views as entitlement_views
from hspm.licensing.vouchers import models, service, views


def _render(p: Principal) -> Render:
    """Each voucher as ``p`` may see it: the code only where the service reveals it."""

    def render(row: asyncpg.Record, base: str) -> dict[str, Any]:
        return views.voucher(row, base, service.reveals_code(p, row))

    return render


async def create_vouchers(request: web.Request) -> web.Response:
    """One voucher (201, ``Location``); with ``count``, the list of them (201)."""
    body = await handlers.body(request, models.VoucherCreate, "voucher")
    p = principal_of(request)
    async with handlers.tx(request) as conn:
        rows = await service.create_vouchers(conn, p, body)
    shown = [views.voucher(r, handlers.base_url(request), reveal=True) for r in rows]
    if body.count is None:
        return created(shown[0])
    return json_response({"results": shown, "total_entries": len(shown)}, status=201)


async def list_vouchers(request: web.Request) -> web.Response:
    p = handlers.signed_in(request)
    filters = {
        "product_license_id": query_uuid(request, "product_license_id"),
        "product_id": query_uuid(request, "product_id"),
        "redeemed": query_bool(request, "redeemed"),
    }
    return await handlers.index(
        request,
        _render(p),
        lambda c, page: service.list_vouchers(c, p, page, filters),
        service.SORTS,
        "created_at",
    )


async def get_voucher(request: web.Request) -> web.Response:
    p, vid = handlers.signed_in(request), path_id(request, "voucher_id")
    return await handlers.show(request, _render(p), lambda c: service.get_voucher(c, p, vid))


async def update_voucher(request: web.Request) -> web.Response:
    body = await handlers.body(request, models.VoucherUpdate, "voucher")
    p, vid = principal_of(request), path_id(request, "voucher_id")
    return await handlers.show(request, _render(p), lambda c: service.update_voucher(c, p, vid, body))


async def delete_voucher(request: web.Request) -> web.Response:
    p, vid = handlers.signed_in(request), path_id(request, "voucher_id")
    return await handlers.no_content(request, lambda c: service.delete_voucher(c, p, vid))


async def redeem_voucher(request: web.Request) -> web.Response:
    """201 with the entitlement the code granted, and its ``Location``."""
    body = await handlers.optional_body(request, models.Redemption, "voucher")
    p, typed = principal_of(request), request.match_info["code"]
    return await handlers.create(
        request, entitlement_views.entitlement, lambda c: service.redeem(c, p, typed, body)
    )
