"""CORS as the spec asks: any origin (or a configured list), any headers, the REST verbs."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

ALLOW_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS, HEAD"
EXPOSE_HEADERS = "RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Retry-After, X-Request-ID, Location"
MAX_AGE = "600"


@dataclass(frozen=True, slots=True)
class CorsPolicy:
    """Which origins may read responses; ``*`` needs no echo because no cookies are used."""

    origins: frozenset[str]

    @property
    def any_origin(self) -> bool:
        return "*" in self.origins

    def allowed(self, origin: str | None) -> str | None:
        """The Access-Control-Allow-Origin value for ``origin``, or ``None``."""
        if self.any_origin:
            return "*"
        if origin is not None and origin in self.origins:
            return origin
        return None

    def preflight(self, request: web.Request) -> web.Response:
        """204 with the allowed methods and whatever headers the browser asked for."""
        headers = {"Access-Control-Allow-Methods": ALLOW_METHODS, "Access-Control-Max-Age": MAX_AGE}
        requested = request.headers.get("Access-Control-Request-Headers")
        if requested:
            headers["Access-Control-Allow-Headers"] = requested
        return web.Response(status=204, headers=headers)

    def decorate(self, request: web.Request, response: web.StreamResponse) -> None:
        """Add the CORS response headers (also to errors, so browsers can read them)."""
        allow = self.allowed(request.headers.get("Origin"))
        headers = response.headers
        if allow is not None:
            headers["Access-Control-Allow-Origin"] = allow
            headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
        if not self.any_origin:
            # The answer depends on Origin, so caches must key on it.
            vary = headers.get("Vary")
            headers["Vary"] = f"{vary}, Origin" if vary else "Origin"


def is_preflight(request: web.Request) -> bool:
    """A browser's CORS preflight, as opposed to a plain OPTIONS request."""
    return request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers
