"""The media area's URL map."""

from __future__ import annotations

from aiohttp import web

from hspm.catalog.media import handlers as h
from hspm.catalog.media import models as m
from hspm.common.web import Api

P = "/products/{product_id}"
S = P + "/screenshots/{screenshot_id}"
PAGED = ["page", "per_page", "sort", "order"]
UPDATE = "products.update"


def add_routes(api: Api, router: web.UrlDispatcher) -> None:
    """Register this area's routes (one line each)."""
    api.route(
        router,
        "GET",
        P + "/logos",
        h.list_logos,
        "The product's logo as a collection (0 or 1)",
        tag="Media",
        query=PAGED,
    )
    api.route(router, "GET", P + "/logo", h.get_logo, "The product's logo", tag="Media")
    api.route(
        router, "PUT", P + "/logo", h.put_logo, "Upload or replace the logo", tag="Media", permission=UPDATE
    )
    api.route(router, "DELETE", P + "/logo", h.delete_logo, "Remove the logo", tag="Media", permission=UPDATE)
    api.route(
        router, "GET", P + "/logo/{size}", h.logo_image, "Logo image (small, medium, large)", tag="Media"
    )
    api.route(
        router,
        "GET",
        P + "/screenshots",
        h.list_screenshots,
        "The product's screenshots",
        tag="Media",
        query=PAGED,
    )
    api.route(
        router,
        "POST",
        P + "/screenshots",
        h.create_screenshot,
        "Add a screenshot (multipart)",
        tag="Media",
        request=m.ScreenshotFields,
        status=201,
        permission=UPDATE,
    )
    api.route(router, "GET", S, h.show_screenshot, "A screenshot", tag="Media")
    api.route(
        router,
        "PUT",
        S,
        h.update_screenshot,
        "Change a screenshot",
        tag="Media",
        request=m.ScreenshotFields,
        permission=UPDATE,
    )
    api.route(
        router,
        "PATCH",
        S,
        h.update_screenshot,
        "Change a screenshot",
        tag="Media",
        request=m.ScreenshotFields,
        permission=UPDATE,
    )
    api.route(router, "DELETE", S, h.delete_screenshot, "Remove a screenshot", tag="Media", permission=UPDATE)
    api.route(
        router,
        "GET",
        S + "/{size}",
        h.screenshot_image,
        "Screenshot image (small, medium, large)",
        tag="Media",
    )
