"""The recalls area's URL map."""

from __future__ import annotations

from aiohttp import web

from hspm.common.web import PAGED, Api
from hspm.curation.recalls import handlers as h
from hspm.curation.recalls import models as m

R = "/recalls"
TAG = "Recalls"


def add_routes(api: Api, router: web.UrlDispatcher) -> None:
    """Register this area's routes (one line each)."""
    add = api.route
    add(
        router,
        "POST",
        R,
        h.issue_recall,
        "Recall builds of a product (SemVer range or ids)",
        tag=TAG,
        request=m.RecallCreate,
        status=201,
        permission="recalls.create",
    )
    add(
        router,
        "GET",
        R,
        h.list_recalls,
        "List recalls (own products' without recalls.read)",
        tag=TAG,
        permission="recalls.read",
        query=(*PAGED, "product_id"),
    )
    add(router, "GET", R + "/{recall_id}", h.get_recall, "Show a recall", tag=TAG)
