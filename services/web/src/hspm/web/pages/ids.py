"""Path ids checked before they go into an API path: a UUID or a 404, never ``../``."""

from __future__ import annotations

from uuid import UUID

from aiohttp import web


def path_uuid(request: web.Request, name: str) -> str:
    """``request.match_info[name]`` as a canonical UUID; anything else is Not found."""
    return uuid_or_404(request.match_info.get(name, ""))


def uuid_or_404(value: str) -> str:
    try:
        return str(UUID(value))
    except ValueError:
        raise web.HTTPNotFound(reason="No such page") from None


def uuid_or_none(value: object) -> str | None:
    """A query or form field that should hold a UUID; None when it holds anything else."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return str(UUID(value))
    except ValueError:
        return None
