"""The notifier service's application factory."""

from __future__ import annotations

from aiohttp import web

from hspm.common import lifecycle
from hspm.common.web import create_base_app
from hspm.notifier.config import Settings
from hspm.notifier.consumers import HANDLERS
from hspm.notifier.keys import settings_key
from hspm.notifier.pruning import pruning
from hspm.notifier.routes import setup_routes
from hspm.notifier.sockets.collector import tuned_collector
from hspm.notifier.sockets.hub import hub_context


def create_app(settings: Settings) -> web.Application:
    """Database, bus, the consumer of catalog, curation and licensing events, the hub
    (LISTEN for wake-ups), the retention sweep, routes. It emits no events: no relay."""
    app = create_base_app(settings, "notifier")
    app[settings_key] = settings
    app.cleanup_ctx.append(lifecycle.database("hspm.notifier"))
    app.cleanup_ctx.append(lifecycle.bus())
    app.cleanup_ctx.append(lifecycle.consumer(HANDLERS))
    app.cleanup_ctx.append(hub_context)
    app.cleanup_ctx.append(pruning)
    app.cleanup_ctx.append(tuned_collector)
    setup_routes(app)
    return app
