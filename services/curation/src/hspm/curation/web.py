"""Request plumbing shared by curation's areas."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

from aiohttp import web

from hspm.common.db import Conn
from hspm.common.lifecycle import unit_of_work
from hspm.curation.keys import settings_key


def tx(request: web.Request) -> AbstractAsyncContextManager[Conn]:
    """The request's unit of work (a transaction for writes, a plain connection for reads)."""
    return unit_of_work(request)


def base_url(request: web.Request) -> str:
    """The public origin for the spec's absolute ``url`` fields."""
    return request.app[settings_key].public_url.rstrip("/")


def wants_text(request: web.Request) -> bool:
    """Whether the client asked for text/plain before (or instead of) JSON."""
    for part in request.headers.get("Accept", "").split(","):
        media = part.split(";", 1)[0].strip().lower()
        if media == "text/plain":
            return True
        if media in ("application/json", "application/*"):
            return False
    return False
