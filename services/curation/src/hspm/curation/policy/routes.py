"""The policy area's URL map."""

from __future__ import annotations

from aiohttp import web

from hspm.common.web import PAGED, Api, Crud
from hspm.curation.policy import handlers as h
from hspm.curation.policy import models as m

P = "/validation_policy"
E = P + "/exceptions"
TAG = "Validation policy"
EXCEPTIONS = Crud(
    collection=E,
    item=E + "/{exception_id}",
    tag=TAG,
    noun="rule exception",
    plural="per-product rule exceptions",
    index=h.list_exceptions,
    create=h.create_exception,
    show=h.get_exception,
    delete=h.delete_exception,
    create_model=m.ExceptionCreate,
    query=(*PAGED, "product_id"),
    permissions={"create": "reviews.update", "delete": "reviews.update"},
    summaries={"create": "Waive a rule for a product", "delete": "Remove a rule exception"},
)


def add_routes(api: Api, router: web.UrlDispatcher) -> None:
    """Register this area's routes (one line each)."""
    add = api.route
    add(router, "GET", P, h.get_policy, "Show the validation policy in force", tag=TAG)
    add(
        router,
        "PUT",
        P,
        h.put_policy,
        "Replace the validation policy (exceptions: see /validation_policy/exceptions)",
        tag=TAG,
        request=m.PolicyUpdate,
        permission="reviews.update",
    )
    api.resource(router, EXCEPTIONS)
