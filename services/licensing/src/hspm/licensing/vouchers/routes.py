"""The vouchers area's URL map: vouchers and their redemption."""

from __future__ import annotations

from aiohttp import web

from hspm.common.web import PAGED, Api, Crud
from hspm.licensing.vouchers import handlers as h
from hspm.licensing.vouchers import models as m

TAG = "Vouchers"

VOUCHERS = Crud(
    collection="/vouchers",
    item="/vouchers/{voucher_id}",
    tag=TAG,
    noun="voucher",
    plural="vouchers",
    index=h.list_vouchers,
    create=h.create_vouchers,
    show=h.get_voucher,
    update=h.update_voucher,
    delete=h.delete_voucher,
    create_model=m.VoucherCreate,
    update_model=m.VoucherUpdate,
    query=(*PAGED, "product_license_id", "product_id", "redeemed"),
    permissions={
        "index": "vouchers.read",
        "create": "vouchers.create",
        "update": "vouchers.update",
        "delete": "vouchers.delete",
    },
    summaries={
        "index": "List vouchers (of own products, redeemed by oneself, or all with vouchers.read)",
        "create": "Issue a voucher, or count of them (staff, or the product's ISV)",
        "update": "Move an unredeemed voucher's expiry (staff, or the product's ISV)",
        "delete": "Delete an unredeemed voucher (staff, or the product's ISV)",
    },
)


def add_routes(api: Api, router: web.UrlDispatcher) -> None:
    """Register this area's routes; each is also an OpenAPI operation."""
    api.resource(router, VOUCHERS)
    api.route(
        router,
        "POST",
        "/vouchers/{code}/redeem",
        h.redeem_voucher,
        "Redeem a voucher code for an entitlement (any signed-in user)",
        tag=TAG,
        request=m.Redemption,
        status=201,
    )
