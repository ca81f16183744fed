"""The licensing service's application factory."""

from __future__ import annotations

from aiohttp import web

from hspm.common import lifecycle
from hspm.common.web import create_base_app
from hspm.licensing.config import Settings
from hspm.licensing.consumers import HANDLERS
from hspm.licensing.keys import settings_key
from hspm.licensing.routes import setup_routes


def create_app(settings: Settings) -> web.Application:
    """Database, bus, outbox relay, the consumer of catalog and identity events, routes."""
    app = create_base_app(settings, "licensing")
    app[settings_key] = settings
    app.cleanup_ctx.append(lifecycle.database("hspm.licensing"))
    app.cleanup_ctx.append(lifecycle.bus())
    app.cleanup_ctx.append(lifecycle.relay())
    app.cleanup_ctx.append(lifecycle.consumer(HANDLERS))
    setup_routes(app)
    return app
