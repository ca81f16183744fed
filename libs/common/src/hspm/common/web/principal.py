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

    def verify(self, value: str, secret: str) -> Principal:
        hit = self._entries.get(value)
        now = time.time()
        if hit is not None and hit[1] > now:
            return hit[0]
        principal, expires = verify_assertion(value, secret, with_expiry=True)
        self._entries[value] = (principal, expires)
        if len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return principal


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]


def principal_middleware(settings: ServiceSettings) -> Middleware:
    """No header: anonymous. A bad header: 401, never a silent downgrade.

    Built per app with its own cache, so this module needs nothing from ``web.app``.
    """
    assertions = AssertionCache()

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        value = request.headers.get(PRINCIPAL_HEADER)
        if value is None:
            request[principal_key] = ANONYMOUS
        else:
            secret = settings.internal_secret.get_secret_value()
            if not secret:
                raise RuntimeError("HSPM_INTERNAL_SECRET is not set")
            request[principal_key] = assertions.verify(value, secret)
        return await handler(request)

    return middleware


def principal_of(request: web.Request) -> Principal:
    """The caller of this request (anonymous when nothing says otherwise)."""
    principal: Principal = request.get(principal_key, ANONYMOUS)
    return principal
