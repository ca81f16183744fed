"""The web UI's app factory: one HTTP client to the gateway, the templates, the pages.

Like the gateway it owns no database and consumes no events (ADR 21): every page is built
from the public API, called with the signed-in person's token.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from hspm.common.web.app import create_base_app
from hspm.web import keys
from hspm.web.config import Settings
from hspm.web.middleware import page_middleware
from hspm.web.render import environment
from hspm.web.routes import setup_routes
from hspm.web.session import SessionBox


def create_app(settings: Settings) -> web.Application:
    """The web UI application for ``settings``."""
    app = create_base_app(settings, "web", trust_principal=False, middlewares=[page_middleware])
    app[keys.settings] = settings
    app[keys.box] = SessionBox(settings.cookie_secret(), settings.session_ttl_seconds)
    app[keys.templates] = environment(settings)
    app.cleanup_ctx.append(http_client)
    setup_routes(app, settings.ui_path)
    return app


async def http_client(app: web.Application) -> AsyncIterator[None]:
    """One client session for every API call; pages fetch what they need concurrently."""
    settings = app[keys.settings]
    client = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0, limit_per_host=128, keepalive_timeout=30),
        timeout=aiohttp.ClientTimeout(total=settings.api_timeout, connect=5),
        # Each call carries its user's token; a shared jar would mix users' cookies.
        cookie_jar=aiohttp.DummyCookieJar(),
    )
    app[keys.http] = client
    try:
        yield
    finally:
        await client.close()
