"""The identity service's application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from hspm.common import lifecycle
from hspm.common.web import create_base_app
from hspm.identity.config import Settings
from hspm.identity.keys import http_key, issuer_key, settings_key
from hspm.identity.routes import setup_routes
from hspm.identity.signing import TokenIssuer


async def _http_client(app: web.Application) -> AsyncIterator[None]:
    """One client session for talking to identity providers."""
    async with aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=15, connect=5), raise_for_status=False
    ) as session:
        app[http_key] = session
        yield


def create_app(settings: Settings) -> web.Application:
    """Build the identity service: database, bus, outbox relay, HTTP routes."""
    if not settings.signing_key.get_secret_value():
        raise RuntimeError("HSPM_SIGNING_KEY (PEM, EC P-256) is required")
    # Identity trusts the gateway's assertions (and the gateway's session lookups with them).
    app = create_base_app(settings, "identity")
    app[settings_key] = settings
    app[issuer_key] = TokenIssuer(
        settings.signing_key.get_secret_value(), settings.public_url, settings.previous_public_keys
    )
    app.cleanup_ctx.append(lifecycle.database("hspm.identity"))
    app.cleanup_ctx.append(lifecycle.bus())
    app.cleanup_ctx.append(lifecycle.relay())
    app.cleanup_ctx.append(_http_client)
    setup_routes(app)
    return app
