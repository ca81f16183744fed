"""The offline area's URL map."""

from __future__ import annotations

from aiohttp import web

from hspm.common.web import Api
from hspm.licensing.offline import handlers as h

L = "/entitlements/{entitlement_id}/license"
TAG = "Offline licenses"


def add_routes(api: Api, router: web.UrlDispatcher) -> None:
    """Register this area's routes; each is also an OpenAPI operation."""
    add = api.route
    add(
        router,
        "GET",
        L,
        h.get_license_document,
        "A signed license document for offline checks (holder, staff, or the product's ISV)",
        tag=TAG,
    )
    add(
        router,
        "GET",
        f"{L}/status",
        h.get_license_status,
        "Whether the entitlement still stands: active, upcoming, expired or revoked (online)",
        tag=TAG,
    )
    add(
        router,
        "GET",
        "/.well-known/hspm-license-keys",
        h.get_license_keys,
        "The public keys license documents verify with (JWK set; current and retired)",
        tag=TAG,
    )
