"""The authorizations area's URL map: the runtime check (spec 4.4) and the attempts."""

from __future__ import annotations

from aiohttp import web

from hspm.common.web import PAGED, Api
from hspm.licensing.authorizations import handlers as h
from hspm.licensing.authorizations import models as m

A = "/authorizations"
TAG = "Authorizations"
CHECK = "authorizations.create"
ATTEMPT_FILTERS = ("product_id", "claimant_id", "claimant_type", "granted", "outcome", "since", "until")


def add_routes(api: Api, router: web.UrlDispatcher) -> None:
    """Register this area's routes; each is also an OpenAPI operation."""
    add = api.route
    body = m.AuthorizationRequest
    add(
        router,
        "PUT",
        A + "/users/{user_id}/products/{product_id}",
        h.authorize_user,
        "Is the product licensed for this user? (own claims, then their groups')",
        tag=TAG,
        request=body,
        permission=CHECK,
    )
    add(
        router,
        "PUT",
        A + "/groups/{group_id}/products/{product_id}",
        h.authorize_group,
        "Is the product licensed for this group?",
        tag=TAG,
        request=body,
        permission=CHECK,
    )
    add(
        router,
        "PUT",
        A + "/products/{product_id}",
        h.authorize_self,
        "Is the product licensed for the caller?",
        tag=TAG,
        request=body,
    )
    add(
        router,
        "GET",
        "/attempts",
        h.list_attempts,
        "List attempts, newest first (own products' without attempts.read)",
        tag="Attempts",
        permission="attempts.read",
        query=(*PAGED, *ATTEMPT_FILTERS),
    )
    add(router, "GET", "/attempts/{attempt_id}", h.get_attempt, "Show an attempt", tag="Attempts")
