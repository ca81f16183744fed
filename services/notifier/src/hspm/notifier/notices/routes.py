"""Recall notices' URL map. ``/platforms/recalls`` is registered before any
``/platforms/{platform_id}`` route so the literal path wins."""

from __future__ import annotations

from aiohttp import web

from hspm.common.web import PAGED, Api
from hspm.notifier.notices import handlers as h

TAG = "Recall notices"


def add_routes(api: Api, router: web.UrlDispatcher) -> None:
    """Register this area's routes; each is also an OpenAPI operation."""
    api.route(
        router,
        "GET",
        "/platforms/recalls",
        h.list_notices,
        "List recall notices by platform (pending=true: not yet acknowledged)",
        tag=TAG,
        permission="recalls.read",
        query=(*PAGED, "recall_id", "pending"),
    )
    api.route(
        router,
        "POST",
        "/platforms/{platform_id}/recalls/{recall_id}/acknowledgement",
        h.acknowledge,
        "Acknowledge a recall for a platform (its agent may do so over the socket)",
        tag=TAG,
    )
