"""The principal middleware: who is calling, from the gateway's signed assertion."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from aiohttp import web

from hspm.common.auth import ANONYMOUS, PRINCIPAL_HEADER, Principal, verify_assertion
from hspm.common.config import ServiceSettings

principal_key = web.RequestKey("hspm_principal", Principal)


class AssertionCache:
    """Verified assertions until they expire: the gateway reuses one per session, and
    verifying an HS256 JWT costs 70-200 us, more than the rest of a cheap request."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    def verify(self, value: str, secret: str, audience: str) -> Principal:
        # One cache per app, and so per audience: a hit was verified for this service.
        hit = self._entries.get(value)
        now = time.time()
        if hit is not None and hit[1] > now:
            return hit[0]
        principal, expires = verify_assertion(value, secret, audience=audience, with_expiry=True)
        self._entries[value] = (principal, expires)
        if len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return principal


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]


def principal_middleware(settings: ServiceSettings, audience: str | None = None) -> Middleware:
    """No header: anonymous. A bad header, or one for another service: 401, never a silent
    downgrade.

    ``audience`` is this service's name, the one the gateway signs its assertions for
    (``settings.service_name`` unless given). Built per app with its own cache, so this
    module needs nothing from ``web.app``.
    """
    assertions = AssertionCache()
    own_name = audience or settings.service_name

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        value = request.headers.get(PRINCIPAL_HEADER)
        if value is None:
            request[principal_key] = ANONYMOUS
        else:
            secret = settings.require_internal_secret()
            request[principal_key] = assertions.verify(value, secret, own_name)
        return await handler(request)

    return middleware


def principal_of(request: web.Request) -> Principal:
    """The caller of this request (anonymous when nothing says otherwise)."""
    principal: Principal = request.get(principal_key, ANONYMOUS)
    return principal
