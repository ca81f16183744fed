"""The socket's URL map: the reference server's /websocket and the spec's /websockets."""

from __future__ import annotations

from aiohttp import web

from hspm.common.web import Api
from hspm.notifier.sockets import handlers as h

TAG = "Agent WebSocket"


def add_routes(api: Api, router: web.UrlDispatcher) -> None:
    """Register this area's routes; each is also an OpenAPI operation."""
    for path in ("/websocket", "/websockets"):
        api.route(router, "GET", path, h.websocket, "Agent WebSocket (docs/notifier-protocol.md)", tag=TAG)
