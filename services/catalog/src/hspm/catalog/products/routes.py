"""The products area's URL map: products, publication, sub-products, badges and awards.

``GET /products`` and ``POST /products/search`` belong to the search area.
"""

from __future__ import annotations

from functools import partial

from aiohttp import web

from hspm.catalog.products import handlers as h
from hspm.catalog.products import models as m
from hspm.common.web import PAGED, Api, Crud

P = "/products/{product_id}"
T_PRODUCTS, T_SUB, T_BADGES = "Products", "Sub-products", "Badges"


def add_routes(api: Api, router: web.UrlDispatcher) -> None:
    """Register this area's routes (one line, or one resource, each)."""
    api.resource(router, PRODUCTS)
    a = api.route
    a(
        router,
        "POST",
        f"{P}/publish",
        h.publish_product,
        "Publish a product, optionally embargoed until visible_at",
        tag=T_PRODUCTS,
        request=m.Publication,
        permission="products.publish",
    )
    a(
        router,
        "POST",
        f"{P}/unpublish",
        h.unpublish_product,
        "Return a product to draft",
        tag=T_PRODUCTS,
        permission="products.publish",
    )
    related = (*PAGED, "transitive")
    a(
        router,
        "GET",
        f"{P}/children",
        h.list_children,
        "A product's visible sub-products",
        tag=T_SUB,
        query=related,
    )
    a(
        router,
        "GET",
        f"{P}/parents",
        h.list_parents,
        "The visible products a product belongs to",
        tag=T_SUB,
        query=related,
    )
    api.resource(router, SUB_PRODUCTS)
    api.resource(router, BADGES)
    api.resource(router, AWARDS)


# GET /products is the search area's index.
PRODUCTS = Crud(
    collection="/products",
    item=P,
    tag=T_PRODUCTS,
    noun="product",
    plural="products",
    create=h.create_product,
    show=h.get_product,
    update=h.update_product,
    delete=h.delete_product,
    create_model=m.ProductCreate,
    update_model=m.ProductUpdate,
    # DELETE answers 200 with the product, as the reference server does.
    delete_status=200,
    permissions={"create": "products.create", "update": "products.update", "delete": "products.delete"},
    summaries={
        "show": "Show a product (drafts: owner or products.read)",
        "update": "Update a product (owner or products.update)",
        "delete": "Delete a product and everything under it",
    },
)
# Moving a link needs no permission of its own: the service checks both ends' rights.
SUB_PRODUCTS = Crud(
    collection="/sub_products",
    item="/sub_products/{sub_product_id}",
    tag=T_SUB,
    noun="product link",
    plural="product links",
    index=h.list_sub_products,
    create=h.create_sub_product,
    show=h.get_sub_product,
    update=h.update_sub_product,
    delete=h.delete_sub_product,
    create_model=m.SubProductCreate,
    update_model=m.SubProductUpdate,
    query=(*PAGED, "parent_id", "child_id"),
    permissions={"create": "sub_products.create", "delete": "sub_products.delete"},
    summaries={
        "create": "Link a child product to a parent",
        "update": "Move a product link",
        "delete": "Remove a product link",
    },
)
# Badges and the awards of them are documented together.
_badges = partial(Crud, tag=T_BADGES)
BADGES = _badges(
    collection="/badges",
    item="/badges/{badge_id}",
    noun="badge",
    plural="badges",
    index=h.list_badges,
    create=h.create_badge,
    show=h.get_badge,
    update=h.update_badge,
    delete=h.delete_badge,
    create_model=m.BadgeCreate,
    update_model=m.BadgeUpdate,
    permissions={"create": "badges.create", "update": "badges.update", "delete": "badges.delete"},
    summaries={"delete": "Delete a badge and its awards"},
)
AWARDS = _badges(
    collection=f"{P}/badges",
    item=f"{P}/badges/{{badge_id}}",
    noun="awarded badge",
    plural="awarded badges",
    index=h.list_awards,
    create=h.award_badge,
    delete=h.revoke_badge,
    create_model=m.BadgeAward,
    permissions={"create": "badges.award", "delete": "badges.award"},
    summaries={
        "index": "Badges awarded to a product",
        "create": "Award a badge to a product",
        "delete": "Withdraw an awarded badge",
    },
)
