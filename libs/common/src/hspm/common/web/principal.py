"""Who is calling, from the gateway's signed assertion."""

from __future__ import annotations

import time
from collections import OrderedDict

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


class PrincipalReader:
    """Who is calling: no header, anonymous; a bad header, or one signed for another
    service, 401, never a silent downgrade.

    ``audience`` is this service's name, the one the gateway signs its assertions for.
    The context middleware calls it on every request (one middleware layer fewer than a
    principal middleware of its own); built per app with its own cache.
    """

    def __init__(self, settings: ServiceSettings, audience: str | None = None) -> None:
        self._settings = settings
        self._audience = audience or settings.service_name
        self._assertions = AssertionCache()

    def __call__(self, request: web.Request) -> Principal:
        value = request.headers.get(PRINCIPAL_HEADER)
        if value is None:
            return ANONYMOUS
        secret = self._settings.require_internal_secret()
        return self._assertions.verify(value, secret, self._audience)


def principal_of(request: web.Request) -> Principal:
    """The caller of this request (anonymous when nothing says otherwise)."""
    principal: Principal = request.get(principal_key, ANONYMOUS)
    return principal
