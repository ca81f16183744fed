"""Request plumbing shared by the catalog's areas."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

from aiohttp import web

from hspm.catalog.keys import settings_key
from hspm.common.db import Conn
from hspm.common.lifecycle import unit_of_work


def tx(request: web.Request) -> AbstractAsyncContextManager[Conn]:
    """The request's unit of work (a transaction for writes, a plain connection for reads)."""
    return unit_of_work(request)


def base_url(request: web.Request) -> str:
    """The public origin for the spec's absolute ``url`` fields."""
    return request.app[settings_key].public_url.rstrip("/")
