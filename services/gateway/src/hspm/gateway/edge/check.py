"""The token check an edge proxy in front of the gateway asks (nginx ``auth_request``).

Served only on the internal listener, and only with ``HSPM_EDGE_AUTH`` on (ADR 16). The
proxy sends the client's ``Authorization`` and the service the path belongs to
(``X-Edge-Service``); the answer is 200 with the principal assertion for that service
(none for anonymous callers), 401 with the RFC 6750 challenge, or 503 when identity
cannot be asked. The proxy caches answers per token and service for a few seconds,
which bounds how long a revoked session keeps working there.
"""

from __future__ import annotations

from aiohttp import web

from hspm.common.auth import PRINCIPAL_HEADER
from hspm.common.errors import DomainError
from hspm.gateway import keys
from hspm.gateway.edge.auth import InvalidToken, bearer_token

SERVICE_HEADER = "X-Edge-Service"
SESSION_HEADER = "X-Edge-Session"

# The public app, whose caches the check uses; set on the internal app at start.
public_app: web.AppKey[web.Application] = web.AppKey("gateway_public_app")


async def token_check(request: web.Request) -> web.Response:
    """200 with the assertion for the named service, 401, or 503."""
    app = request.app[public_app]
    service = request.headers.get(SERVICE_HEADER, "")
    if app[keys.upstreams].get(service) is None:
        return web.Response(status=400, text=f"unknown {SERVICE_HEADER}: {service!r}")
    authorization = request.headers.get("Authorization")
    if not authorization:
        return web.Response(status=200)
    auth = app[keys.auth]
    try:
        session = await auth.principal(await auth.verify(bearer_token(authorization)))
    except InvalidToken:
        return web.Response(status=401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    except DomainError as exc:
        return web.Response(status=exc.status)
    headers = {
        PRINCIPAL_HEADER: auth.assertion(session, service),
        SESSION_HEADER: str(session.principal.session_id or ""),
    }
    return web.Response(status=200, headers=headers)
