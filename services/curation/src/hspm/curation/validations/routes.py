"""The validations area's URL map."""

from __future__ import annotations

from aiohttp import web

from hspm.common.web import PAGED, Api
from hspm.curation.validations import handlers as h

V = "/products/{product_id}/builds/{build_id}/validations"
TAG = "Validations"


def add_routes(api: Api, router: web.UrlDispatcher) -> None:
    """Register this area's routes (one line each)."""
    add = api.route
    # POST (request a run) is the reviews area's: the build's case decides what it runs.
    add(router, "GET", V, h.list_validations, "A build's validation runs, newest first", tag=TAG, query=PAGED)
    add(
        router,
        "GET",
        V + "/{run_id}",
        h.get_validation,
        "A validation run in full (text/plain: the report)",
        tag=TAG,
    )
