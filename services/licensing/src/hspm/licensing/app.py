"""The licensing service's application factory."""

from __future__ import annotations

from aiohttp import web

from hspm.common import lifecycle
from hspm.common.web import create_base_app
from hspm.licensing.config import Settings
from hspm.licensing.consumers import HANDLERS
from hspm.licensing.entitlements.sweeper import expiry_sweep
from hspm.licensing.keys import settings_key
from hspm.licensing.offline.keys import install as install_license_keys
from hspm.licensing.routes import setup_routes


def create_app(settings: Settings) -> web.Application:
    """Database, bus, outbox relay, the consumer of catalog and identity events, routes."""
    app = create_base_app(settings, "licensing")
    app[settings_key] = settings
    install_license_keys(app, settings)  # a bad key stops the service here, before it serves
    app.cleanup_ctx.append(lifecycle.database("hspm.licensing"))
    app.cleanup_ctx.append(lifecycle.bus())
    app.cleanup_ctx.append(lifecycle.relay())
    app.cleanup_ctx.append(lifecycle.consumer(HANDLERS))
    app.cleanup_ctx.append(expiry_sweep)
    setup_routes(app)
    return app
