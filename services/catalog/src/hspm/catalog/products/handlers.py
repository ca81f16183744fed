"""HTTP handlers of products, publication, sub-products and badges: parse, one transaction, render."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from hspm.catalog.products import models, service, views
from hspm.catalog.web import base_url
from hspm.common.db import Conn
from hspm.common.web import (
    handlers,
    path_id,
    principal_of,
    query_bool,
    query_uuid,
)
from hspm.common.web.handlers import PageFn, Render, RowFn

PRODUCT_SORT = ("name",)
SUB_PRODUCT_SORT = ("created_at", "updated_at")
BADGE_SORT = ("name", "created_at", "updated_at")


# The shared handler shapes, bound to this service's public origin.
_signed_in = handlers.signed_in
_body = handlers.body
_optional_body = handlers.optional_body
_no_content = handlers.no_content


def _show(request: web.Request, render: Render, fn: RowFn) -> Awaitable[web.Response]:
    return handlers.show(request, base_url(request), render, fn)


def _create(request: web.Request, render: Render, fn: RowFn) -> Awaitable[web.Response]:
    return handlers.create(request, base_url(request), render, fn)


def _index(
    request: web.Request, render: Render, fn: PageFn, sortable: tuple[str, ...], default: str
) -> Awaitable[web.Response]:
    return handlers.index(request, base_url(request), render, fn, sortable, default)


# --- products ------------------------------------------------------------------------


async def create_product(request: web.Request) -> web.Response:
    body = await _body(request, models.ProductCreate, "product")
    p = principal_of(request)
    return await _create(request, views.product, lambda c: service.create_product(c, p, body))


async def get_product(request: web.Request) -> web.Response:
    p, pid = principal_of(request), path_id(request, "product_id")
    return await _show(request, views.product, lambda c: service.get_product(c, p, pid))


async def update_product(request: web.Request) -> web.Response:
    body = await _body(request, models.ProductUpdate, "product")
    p, pid = principal_of(request), path_id(request, "product_id")
    return await _show(request, views.product, lambda c: service.update_product(c, p, pid, body))


async def delete_product(request: web.Request) -> web.Response:
    _signed_in(request)
    p, pid = principal_of(request), path_id(request, "product_id")
    return await _show(request, views.product, lambda c: service.delete_product(c, p, pid))


async def publish_product(request: web.Request) -> web.Response:
    body = await _optional_body(request, models.Publication, "product")
    p, pid = principal_of(request), path_id(request, "product_id")
    return await _show(request, views.product, lambda c: service.publish_product(c, p, pid, body))


async def unpublish_product(request: web.Request) -> web.Response:
    _signed_in(request)
    p, pid = principal_of(request), path_id(request, "product_id")
    return await _show(request, views.product, lambda c: service.unpublish_product(c, p, pid))


def _related(children: bool) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        p, pid = principal_of(request), path_id(request, "product_id")
        transitive = query_bool(request, "transitive") or False
        return await _index(
            request,
            views.product,
            lambda c, page: service.related_products(c, p, pid, children, transitive, page),
            PRODUCT_SORT,
            "name",
        )

    return handler


list_children = _related(children=True)
list_parents = _related(children=False)


# --- sub-products --------------------------------------------------------------------


async def list_sub_products(request: web.Request) -> web.Response:
    p = principal_of(request)
    parent_id, child_id = query_uuid(request, "parent_id"), query_uuid(request, "child_id")
    return await _index(
        request,
        views.sub_product,
        lambda c, page: service.list_sub_products(c, p, parent_id, child_id, page),
        SUB_PRODUCT_SORT,
        "created_at",
    )


async def create_sub_product(request: web.Request) -> web.Response:
    body = await _body(request, models.SubProductCreate, "sub_product")
    p = principal_of(request)
    return await _create(request, views.sub_product, lambda c: service.create_sub_product(c, p, body))


async def get_sub_product(request: web.Request) -> web.Response:
    p, sid = principal_of(request), path_id(request, "sub_product_id")
    return await _show(request, views.sub_product, lambda c: service.get_sub_product(c, p, sid))


async def update_sub_product(request: web.Request) -> web.Response:
    body = await _body(request, models.SubProductUpdate, "sub_product")
    p, sid = principal_of(request), path_id(request, "sub_product_id")
    return await _show(request, views.sub_product, lambda c: service.update_sub_product(c, p, sid, body))


async def delete_sub_product(request: web.Request) -> web.Response:
    _signed_in(request)
    p, sid = principal_of(request), path_id(request, "sub_product_id")

    async def remove(conn: Conn) -> None:
        await service.delete_sub_product(conn, p, sid)

    return await _no_content(request, remove)


# --- badges and awards ---------------------------------------------------------------


async def list_badges(request: web.Request) -> web.Response:
    return await _index(request, views.badge, service.list_badges, BADGE_SORT, "name")


async def get_badge(request: web.Request) -> web.Response:
    bid = path_id(request, "badge_id")
    return await _show(request, views.badge, lambda c: service.get_badge(c, bid))


async def create_badge(request: web.Request) -> web.Response:
    body = await _body(request, models.BadgeCreate, "badge")
    p = principal_of(request)
    return await _create(request, views.badge, lambda c: service.create_badge(c, p, body))


async def update_badge(request: web.Request) -> web.Response:
    body = await _body(request, models.BadgeUpdate, "badge")
    p, bid = principal_of(request), path_id(request, "badge_id")
    return await _show(request, views.badge, lambda c: service.update_badge(c, p, bid, body))


async def delete_badge(request: web.Request) -> web.Response:
    _signed_in(request)
    p, bid = principal_of(request), path_id(request, "badge_id")
    return await _no_content(request, lambda c: service.delete_badge(c, p, bid))


async def list_awards(request: web.Request) -> web.Response:
    p, pid = principal_of(request), path_id(request, "product_id")
    return await _index(
        request,
        views.award,
        lambda c, page: service.list_awards(c, p, pid, page),
        ("name",),
        "name",
    )


async def award_badge(request: web.Request) -> web.Response:
    body = await _body(request, models.BadgeAward, "badge_award")
    p, pid = principal_of(request), path_id(request, "product_id")
    return await _create(request, views.award, lambda c: service.award_badge(c, p, pid, body))


async def revoke_badge(request: web.Request) -> web.Response:
    _signed_in(request)
    p, pid, bid = principal_of(request), path_id(request, "product_id"), path_id(request, "badge_id")
    return await _no_content(request, lambda c: service.revoke_badge(c, p, pid, bid))
