"""The reviews area's URL map."""

from __future__ import annotations

from aiohttp import web

from hspm.common.web import PAGED, Api
from hspm.curation.reviews import handlers as h
from hspm.curation.reviews import models as m

R = "/reviews"
RR = R + "/{case_id}"
TAG = "Reviews"


def add_routes(api: Api, router: web.UrlDispatcher) -> None:
    """Register this area's routes (one line each)."""
    add = api.route
    add(
        router,
        "GET",
        R,
        h.list_reviews,
        "The review queue (own products' cases without reviews.read)",
        tag=TAG,
        permission="reviews.read",
        query=(*PAGED, "state", "product_id", "build_id", "attention", "deleted"),
    )
    add(
        router,
        "POST",
        "/products/{product_id}/builds/{build_id}/validations",
        h.request_validation,
        "Request a validation run of a build (a dry run while it is editable; 429 when too many are open)",
        tag="Validations",
        status=202,
        permission="validations.create",
    )
    add(router, "GET", RR, h.get_review, "A review case with provenance and latest run", tag=TAG)
    add(router, "GET", RR + "/provenance", h.list_provenance, "A case's provenance", tag=TAG, query=PAGED)
    add(
        router,
        "POST",
        RR + "/decisions",
        h.decide,
        "Decide: approve, reject, request_changes, deprecate or withdraw",
        tag=TAG,
        request=m.DecisionCreate,
        permission="reviews.update",
    )
