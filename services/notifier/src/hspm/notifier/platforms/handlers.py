"""HTTP handlers of platforms, for both the nested (/users/{user_id}/...) and global paths."""

from __future__ import annotations

from uuid import UUID

from aiohttp import web

from hspm.common import handlers
from hspm.common.web import path_id, principal_of, query_uuid
from hspm.notifier.platforms import models, service, views


def _user(request: web.Request) -> UUID | None:
    """The user the nested path names; None on the global shortcut."""
    return path_id(request, "user_id") if "user_id" in request.match_info else None


async def list_platforms(request: web.Request) -> web.Response:
    p, uid = principal_of(request), _user(request) or query_uuid(request, "user_id")
    name = request.query.get("name") or None
    return await handlers.index(
        request,
        views.platform,
        lambda c, page: service.list_platforms(c, p, page, uid, name),
        service.SORTS,
        "name",
    )


async def create_platform(request: web.Request) -> web.Response:
    body = await handlers.body(request, models.PlatformCreate, "platform")
    p, uid = principal_of(request), _user(request)
    return await handlers.create(request, views.platform, lambda c: service.create_platform(c, p, body, uid))


async def get_platform(request: web.Request) -> web.Response:
    p, pid, uid = principal_of(request), path_id(request, "platform_id"), _user(request)
    return await handlers.show(request, views.platform, lambda c: service.get_platform(c, p, pid, uid))


async def update_platform(request: web.Request) -> web.Response:
    body = await handlers.body(request, models.PlatformUpdate, "platform")
    p, pid, uid = principal_of(request), path_id(request, "platform_id"), _user(request)
    return await handlers.show(
        request, views.platform, lambda c: service.update_platform(c, p, pid, body, uid)
    )


async def delete_platform(request: web.Request) -> web.Response:
    """200 with the deleted platform, as the reference server answers."""
    p, pid, uid = handlers.signed_in(request), path_id(request, "platform_id"), _user(request)
    return await handlers.show(request, views.platform, lambda c: service.delete_platform(c, p, pid, uid))
