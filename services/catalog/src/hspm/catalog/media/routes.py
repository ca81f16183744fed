"""The media area's URL map."""

from __future__ import annotations

from aiohttp import web

from hspm.catalog.media import handlers as h
from hspm.catalog.media import models as m
from hspm.common.web import PAGED, Api, Crud

P = "/products/{product_id}"
S = P + "/screenshots/{screenshot_id}"
UPDATE = "products.update"
TAG = "Media"


def add_routes(api: Api, router: web.UrlDispatcher) -> None:
    """Register this area's routes (one line, or one resource, each)."""
    a = api.route
    a(
        router,
        "GET",
        P + "/logos",
        h.list_logos,
        "The product's logo as a collection (0 or 1)",
        tag=TAG,
        query=PAGED,
    )
    a(router, "GET", P + "/logo", h.get_logo, "The product's logo", tag=TAG)
    a(router, "PUT", P + "/logo", h.put_logo, "Upload or replace the logo", tag=TAG, permission=UPDATE)
    a(router, "DELETE", P + "/logo", h.delete_logo, "Remove the logo", tag=TAG, permission=UPDATE)
    a(router, "GET", P + "/logo/{size}", h.logo_image, "Logo image (small, medium, large)", tag=TAG)
    api.resource(router, SCREENSHOTS)
    a(router, "GET", S + "/{size}", h.screenshot_image, "Screenshot image (small, medium, large)", tag=TAG)


# Screenshots travel as multipart; ScreenshotFields documents the caption, their one JSON field.
SCREENSHOTS = Crud(
    collection=P + "/screenshots",
    item=S,
    tag=TAG,
    noun="screenshot",
    plural="screenshots",
    index=h.list_screenshots,
    create=h.create_screenshot,
    show=h.show_screenshot,
    update=h.update_screenshot,
    delete=h.delete_screenshot,
    create_model=m.ScreenshotFields,
    update_model=m.ScreenshotFields,
    # DELETE answers 200 with the removed screenshot, as the reference server does.
    delete_status=200,
    permissions={"create": UPDATE, "update": UPDATE, "delete": UPDATE},
    summaries={
        "index": "The product's screenshots",
        "create": "Add a screenshot (multipart)",
        "show": "A screenshot",
        "update": "Change a screenshot",
        "delete": "Remove a screenshot",
    },
)
