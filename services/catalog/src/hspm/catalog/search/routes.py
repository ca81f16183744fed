"""The search area's URL map."""

from __future__ import annotations

from aiohttp import web

from hspm.catalog.search import handlers as h
from hspm.catalog.search import models as m
from hspm.common.web import PAGED, Api

FILTERS = (
    "user_id",
    "mime_type",
    "license_id",
    "interface_id",
    "badge_id",
    "name",
    "text",
    "published",
    "facets",
)
QUERY = (*PAGED, *FILTERS)


def add_routes(api: Api, router: web.UrlDispatcher) -> None:
    """Register this area's routes (one line each)."""
    api.route(
        router,
        "GET",
        "/products",
        h.index,
        "Products this caller may see",
        tag="Search",
        query=QUERY,
    )
    api.route(
        router,
        "POST",
        "/products/search",
        h.search,
        "Full-text product search with facets",
        tag="Search",
        request=m.SearchBody,
        query=QUERY,
    )
