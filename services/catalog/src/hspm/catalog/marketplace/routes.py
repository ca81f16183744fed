"""The marketplace area's URL map."""

from __future__ import annotations

from aiohttp import web

from hspm.catalog.marketplace import handlers as h
from hspm.catalog.marketplace import models as m
from hspm.common.web import Api

B = "/products/{product_id}/builds"
TAG = "Marketplace"
DOC = m.MarketplaceDocument


def add_routes(api: Api, router: web.UrlDispatcher) -> None:
    """Register this area's routes (one line each)."""
    r = router
    api.route(
        r,
        "POST",
        "/marketplace/validate",
        h.validate_document,
        "Validate a marketplace.json",
        tag=TAG,
        request=DOC,
    )
    api.route(
        r,
        "POST",
        f"{B}/import",
        h.import_build,
        "Import a marketplace.json as a new build",
        tag=TAG,
        request=DOC,
        status=201,
        permission="builds.create",
        query=["version"],
    )
    api.route(
        r,
        "GET",
        f"{B}/{{build_id}}/marketplace.json",
        h.marketplace_json,
        "A build's canonical marketplace.json",
        tag=TAG,
        permission="builds.read",
        query=["raw"],
    )
