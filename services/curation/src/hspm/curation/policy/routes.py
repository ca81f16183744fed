"""The policy area's URL map."""

from __future__ import annotations

from aiohttp import web

from hspm.common.events.curation import ValidationPolicy
from hspm.common.web import Api
from hspm.curation.policy import handlers as h
from hspm.curation.policy import models as m

P = "/validation_policy"
E = P + "/exceptions"
TAG = "Validation policy"
PAGED = ["page", "per_page", "sort", "order"]


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
        request=ValidationPolicy,
        permission="reviews.update",
    )
    add(
        router,
        "GET",
        E,
        h.list_exceptions,
        "List per-product rule exceptions",
        tag=TAG,
        query=[*PAGED, "product_id"],
    )
    add(
        router,
        "POST",
        E,
        h.create_exception,
        "Waive a rule for a product",
        tag=TAG,
        request=m.ExceptionCreate,
        status=201,
        permission="reviews.update",
    )
    add(router, "GET", E + "/{exception_id}", h.get_exception, "Show a rule exception", tag=TAG)
    add(
        router,
        "DELETE",
        E + "/{exception_id}",
        h.delete_exception,
        "Remove a rule exception",
        tag=TAG,
        status=204,
        permission="reviews.update",
    )
