"""The catalog service's application factory."""

from __future__ import annotations

from aiohttp import web

from hspm.catalog.config import Settings
from hspm.catalog.consumers import HANDLERS
from hspm.catalog.keys import settings_key
from hspm.catalog.products import handlers as products
from hspm.catalog.products.shown import ShownCache
from hspm.catalog.routes import setup_routes
from hspm.catalog.search import handlers as search
from hspm.catalog.search.service import ResultCache
from hspm.common import lifecycle
from hspm.common.web import create_base_app


def create_app(settings: Settings) -> web.Application:
    """Database, bus, outbox relay, the consumer of identity and curation events, routes."""
    app = create_base_app(settings, "catalog")
    app[settings_key] = settings
    app[search.RESULTS] = ResultCache(settings.search_cache_entries)
    app[products.SHOWN] = ShownCache(settings.product_cache_bytes)
    app.cleanup_ctx.append(lifecycle.database("hspm.catalog"))
    app.cleanup_ctx.append(lifecycle.bus())
    app.cleanup_ctx.append(lifecycle.relay())
    app.cleanup_ctx.append(lifecycle.consumer(HANDLERS))
    setup_routes(app)
    return app
