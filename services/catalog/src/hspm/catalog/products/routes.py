"""The products area's URL map: products, publication, sub-products, badges and awards.

``GET /products`` and ``POST /products/search`` belong to the search area.
"""

from __future__ import annotations

from aiohttp import web

from hspm.catalog.products import handlers as h
from hspm.catalog.products import models as m
from hspm.common.web import Api

P = "/products/{product_id}"
S = "/sub_products/{sub_product_id}"
B = "/badges/{badge_id}"
PAGED = ["page", "per_page", "sort", "order"]
T_PRODUCTS, T_SUB, T_BADGES = "Products", "Sub-products", "Badges"


def add_routes(api: Api, router: web.UrlDispatcher) -> None:
    """Register this area's routes (one line each)."""
    a = api.route
    a(
        router,
        "POST",
        "/products",
        h.create_product,
        "Create a product",
        tag=T_PRODUCTS,
        request=m.ProductCreate,
        status=201,
        permission="products.create",
    )
    a(router, "GET", P, h.get_product, "Show a product (drafts: owner or products.read)", tag=T_PRODUCTS)
    a(
        router,
        "PUT",
        P,
        h.update_product,
        "Update a product (owner or products.update)",
        tag=T_PRODUCTS,
        request=m.ProductUpdate,
        permission="products.update",
    )
    a(
        router,
        "PATCH",
        P,
        h.update_product,
        "Update a product (owner or products.update)",
        tag=T_PRODUCTS,
        request=m.ProductUpdate,
        permission="products.update",
    )
    a(
        router,
        "DELETE",
        P,
        h.delete_product,
        "Delete a product and everything under it",
        tag=T_PRODUCTS,
        permission="products.delete",
    )
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
    a(
        router,
        "GET",
        f"{P}/children",
        h.list_children,
        "A product's visible sub-products",
        tag=T_SUB,
        query=[*PAGED, "transitive"],
    )
    a(
        router,
        "GET",
        f"{P}/parents",
        h.list_parents,
        "The visible products a product belongs to",
        tag=T_SUB,
        query=[*PAGED, "transitive"],
    )
    a(
        router,
        "GET",
        "/sub_products",
        h.list_sub_products,
        "List product links",
        tag=T_SUB,
        query=[*PAGED, "parent_id", "child_id"],
    )
    a(
        router,
        "POST",
        "/sub_products",
        h.create_sub_product,
        "Link a child product to a parent",
        tag=T_SUB,
        request=m.SubProductCreate,
        status=201,
        permission="sub_products.create",
    )
    a(router, "GET", S, h.get_sub_product, "Show a product link", tag=T_SUB)
    for method in ("PUT", "PATCH"):
        a(
            router,
            method,
            S,
            h.update_sub_product,
            "Move a product link",
            tag=T_SUB,
            request=m.SubProductUpdate,
        )
    a(
        router,
        "DELETE",
        S,
        h.delete_sub_product,
        "Remove a product link",
        tag=T_SUB,
        status=204,
        permission="sub_products.delete",
    )
    a(router, "GET", "/badges", h.list_badges, "List badges", tag=T_BADGES, query=PAGED)
    a(
        router,
        "POST",
        "/badges",
        h.create_badge,
        "Create a badge",
        tag=T_BADGES,
        request=m.BadgeCreate,
        status=201,
        permission="badges.create",
    )
    a(router, "GET", B, h.get_badge, "Show a badge", tag=T_BADGES)
    a(
        router,
        "PUT",
        B,
        h.update_badge,
        "Update a badge",
        tag=T_BADGES,
        request=m.BadgeUpdate,
        permission="badges.update",
    )
    a(
        router,
        "PATCH",
        B,
        h.update_badge,
        "Update a badge",
        tag=T_BADGES,
        request=m.BadgeUpdate,
        permission="badges.update",
    )
    a(
        router,
        "DELETE",
        B,
        h.delete_badge,
        "Delete a badge and its awards",
        tag=T_BADGES,
        status=204,
        permission="badges.delete",
    )
    a(router, "GET", f"{P}/badges", h.list_awards, "Badges awarded to a product", tag=T_BADGES, query=PAGED)
    a(
        router,
        "POST",
        f"{P}/badges",
        h.award_badge,
        "Award a badge to a product",
        tag=T_BADGES,
        request=m.BadgeAward,
        status=201,
        permission="badges.award",
    )
    a(
        router,
        "DELETE",
        f"{P}/badges/{{badge_id}}",
        h.revoke_badge,
        "Withdraw an awarded badge",
        tag=T_BADGES,
        status=204,
        permission="badges.award",
    )
