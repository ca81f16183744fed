"""HTTP handlers of products, publication, sub-products and badges: parse, one service call, render."""

from __future__ import annotations

from aiohttp import web

from hspm.catalog.products import models, service, shown, views
from hspm.catalog.stamped import Clock, Stamp
from hspm.common import handlers
from hspm.common.errors import ValidationFailed
from hspm.common.web import forms, path_id, principal_of, query_bool, query_uuid
from hspm.common.web.app import dumps
from hspm.common.web.body import M, parse_model

# This replica's rendered products (shown.ShownCache), made with the app.
SHOWN = web.AppKey("catalog_products_shown", shown.ShownCache)

PRODUCT_SORT = ("name",)
SUB_PRODUCT_SORT = ("created_at", "updated_at")
BADGE_SORT = ("name", "created_at", "updated_at")

# The reference UI's product form: a description is at most 10 000 characters (40 000
# bytes of UTF-8 at worst), so 64 KiB a field; no file is stored from it.
PRODUCT_FORM = forms.Bounds(
    max_text_bytes=1024 * 1024,
    max_file_bytes=64 * 1024,
    max_field_bytes=64 * 1024,
    max_parts=50,
    empty_is_null=True,
)


# --- products ------------------------------------------------------------------------


async def _product_body(request: web.Request, model: type[M]) -> M:
    """JSON, or the reference UI's multipart form: the same model, the same wrapper rules."""
    if forms.is_form(request):
        handlers.signed_in(request)
        form = await forms.read_form(request, "product", PRODUCT_FORM, file_field="logo")
        if form.file is not None:
            # The logo has its own route (media area); products cannot store it.
            raise ValidationFailed.field("logo", "upload the logo with PUT /products/{id}/logo")
        return parse_model(model, form.fields, "product")
    return await handlers.body(request, model, "product")


async def create_product(request: web.Request) -> web.Response:
    body = await _product_body(request, models.ProductCreate)
    p = principal_of(request)
    return await handlers.create(request, views.product, lambda c: service.create_product(c, p, body))


async def get_product(request: web.Request) -> web.Response:
    """One product, rendered once per change of the catalog (``shown.ShownCache``)."""
    p, pid = principal_of(request), path_id(request, "product_id")
    base = handlers.base_url(request)

    async def run() -> tuple[shown.Shown, Stamp]:
        async with handlers.tx(request, read_only=True) as conn:
            row, stamp = await service.stamped_product(conn, pid)
        return shown.Shown(row["user_id"], bool(row["listed"]), dumps(views.product(row, base))), stamp

    product = await shown.shown_product(request.app[SHOWN], p, pid, lambda: clock(request), run)
    return web.Response(body=product.body, content_type="application/json")


async def clock(request: web.Request) -> Clock:
    """The catalog's generation and the database's clock, on a connection of its own."""
    async with handlers.tx(request, read_only=True) as conn:
        return await service.clock(conn)


async def update_product(request: web.Request) -> web.Response:
    body = await _product_body(request, models.ProductUpdate)
    p, pid = principal_of(request), path_id(request, "product_id")
    return await handlers.show(request, views.product, lambda c: service.update_product(c, p, pid, body))


async def delete_product(request: web.Request) -> web.Response:
    """200 with the deleted product, as the reference server answers."""
    p, pid = handlers.signed_in(request), path_id(request, "product_id")
    return await handlers.show(request, views.product, lambda c: service.delete_product(c, p, pid))


async def publish_product(request: web.Request) -> web.Response:
    body = await handlers.optional_body(request, models.Publication, "product")
    p, pid = principal_of(request), path_id(request, "product_id")
    return await handlers.show(request, views.product, lambda c: service.publish_product(c, p, pid, body))


async def unpublish_product(request: web.Request) -> web.Response:
    p, pid = handlers.signed_in(request), path_id(request, "product_id")
    return await handlers.show(request, views.product, lambda c: service.unpublish_product(c, p, pid))


async def list_children(request: web.Request) -> web.Response:
    return await _related(request, children=True)


async def list_parents(request: web.Request) -> web.Response:
    return await _related(request, children=False)


async def _related(request: web.Request, children: bool) -> web.Response:
    p, pid = principal_of(request), path_id(request, "product_id")
    transitive = query_bool(request, "transitive") or False
    return await handlers.index(
        request,
        views.product,
        lambda c, page: service.related_products(c, p, pid, children, transitive, page),
        PRODUCT_SORT,
        "name",
    )


# --- sub-products --------------------------------------------------------------------


async def list_sub_products(request: web.Request) -> web.Response:
    p = principal_of(request)
    parent_id, child_id = query_uuid(request, "parent_id"), query_uuid(request, "child_id")
    return await handlers.index(
        request,
        views.sub_product,
        lambda c, page: service.list_sub_products(c, p, parent_id, child_id, page),
        SUB_PRODUCT_SORT,
        "created_at",
    )


async def create_sub_product(request: web.Request) -> web.Response:
    body = await handlers.body(request, models.SubProductCreate, "sub_product")
    p = principal_of(request)
    return await handlers.create(request, views.sub_product, lambda c: service.create_sub_product(c, p, body))


async def get_sub_product(request: web.Request) -> web.Response:
    p, sid = principal_of(request), path_id(request, "sub_product_id")
    return await handlers.show(request, views.sub_product, lambda c: service.get_sub_product(c, p, sid))


async def update_sub_product(request: web.Request) -> web.Response:
    body = await handlers.body(request, models.SubProductUpdate, "sub_product")
    p, sid = principal_of(request), path_id(request, "sub_product_id")
    return await handlers.show(
        request, views.sub_product, lambda c: service.update_sub_product(c, p, sid, body)
    )


async def delete_sub_product(request: web.Request) -> web.Response:
    p, sid = handlers.signed_in(request), path_id(request, "sub_product_id")
    return await handlers.no_content(request, lambda c: service.delete_sub_product(c, p, sid))


# --- badges and awards ---------------------------------------------------------------


async def list_badges(request: web.Request) -> web.Response:
    return await handlers.index(request, views.badge, service.list_badges, BADGE_SORT, "name")


async def get_badge(request: web.Request) -> web.Response:
    bid = path_id(request, "badge_id")
    return await handlers.show(request, views.badge, lambda c: service.get_badge(c, bid))


async def create_badge(request: web.Request) -> web.Response:
    body = await handlers.body(request, models.BadgeCreate, "badge")
    p = principal_of(request)
    return await handlers.create(request, views.badge, lambda c: service.create_badge(c, p, body))


async def update_badge(request: web.Request) -> web.Response:
    body = await handlers.body(request, models.BadgeUpdate, "badge")
    p, bid = principal_of(request), path_id(request, "badge_id")
    return await handlers.show(request, views.badge, lambda c: service.update_badge(c, p, bid, body))


async def delete_badge(request: web.Request) -> web.Response:
    p, bid = handlers.signed_in(request), path_id(request, "badge_id")
    return await handlers.no_content(request, lambda c: service.delete_badge(c, p, bid))


async def list_awards(request: web.Request) -> web.Response:
    p, pid = principal_of(request), path_id(request, "product_id")
    return await handlers.index(
        request, views.award, lambda c, page: service.list_awards(c, p, pid, page), ("name",), "name"
    )


async def award_badge(request: web.Request) -> web.Response:
    body = await handlers.body(request, models.BadgeAward, "badge_award")
    p, pid = principal_of(request), path_id(request, "product_id")
    return await handlers.create(request, views.award, lambda c: service.award_badge(c, p, pid, body))


async def revoke_badge(request: web.Request) -> web.Response:
    p, pid, bid = handlers.signed_in(request), path_id(request, "product_id"), path_id(request, "badge_id")
    return await handlers.no_content(request, lambda c: service.revoke_badge(c, p, pid, bid))
