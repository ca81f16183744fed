"""The agent keys' URL map."""

from __future__ import annotations

from aiohttp import web

from hspm.common.web import Api
from hspm.notifier.credentials import handlers as h
from hspm.notifier.credentials import models as m

TAG = "Platform agent keys"


def add_routes(api: Api, router: web.UrlDispatcher) -> None:
    """Register this area's routes; each is also an OpenAPI operation."""
    keys, key = "/platforms/{platform_id}/keys", "/platforms/{platform_id}/keys/{key_id}"
    api.route(router, "GET", keys, h.list_keys, "List a platform's agent keys", tag=TAG)
    api.route(
        router,
        "POST",
        keys,
        h.add_key,
        "Register an Ed25519 agent key",
        tag=TAG,
        request=m.KeyCreate,
        status=201,
    )
    api.route(router, "GET", key, h.get_key, "Show an agent key", tag=TAG)
    api.route(router, "DELETE", key, h.revoke_key, "Revoke an agent key (its sockets close)", tag=TAG)
