"""The vouchers area's URL map."""

from __future__ import annotations

from aiohttp import web

from hspm.common.web import Api


def add_routes(api: Api, router: web.UrlDispatcher) -> None:
    """Register this area's routes; each is also an OpenAPI operation."""
