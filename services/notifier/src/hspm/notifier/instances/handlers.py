"""HTTP handlers of instances, for both the spec's nested paths
(/users/{user_id}/platforms/{platform_id}/instances/...) and the global shortcuts."""

from __future__ import annotations

from uuid import UUID

from aiohttp import web

from hspm.common import handlers
from hspm.common.web import path_id, principal_of
from hspm.notifier.instances import models, service, views


def _user(request: web.Request) -> UUID | None:
    """The user the nested path names; None on the global shortcut."""
    return path_id(request, "user_id") if "user_id" in request.match_info else None


def _within(request: web.Request) -> service.Within | None:
    """The platform and user an item's nested path names; None on /instances/{id}."""
    user_id = _user(request)
    if user_id is None:
        return None
    return service.Within(user_id=user_id, platform_id=path_id(request, "platform_id"))


async def list_instances(request: web.Request) -> web.Response:
    p, pid, uid = principal_of(request), path_id(request, "platform_id"), _user(request)
    return await handlers.index(
        request,
        views.instance,
        lambda c, page: service.list_instances(c, p, pid, page, uid),
        service.SORTS,
        "created_at",
    )


async def create_instance(request: web.Request) -> web.Response:
    body = await handlers.body(request, models.InstanceCreate, "instance")
    p, pid, uid = principal_of(request), path_id(request, "platform_id"), _user(request)
    return await handlers.create(
        request, views.instance, lambda c: service.create_instance(c, p, pid, body, uid)
    )


async def get_instance(request: web.Request) -> web.Response:
    p, iid, within = principal_of(request), path_id(request, "instance_id"), _within(request)
    return await handlers.show(request, views.instance, lambda c: service.get_instance(c, p, iid, within))


async def update_instance(request: web.Request) -> web.Response:
    body = await handlers.body(request, models.InstanceUpdate, "instance")
    p, iid, within = principal_of(request), path_id(request, "instance_id"), _within(request)
    return await handlers.show(
        request, views.instance, lambda c: service.update_instance(c, p, iid, body, within)
    )


async def delete_instance(request: web.Request) -> web.Response:
    """200 with the deleted instance, as the reference server answers."""
    p, iid, within = handlers.signed_in(request), path_id(request, "instance_id"), _within(request)
    return await handlers.show(request, views.instance, lambda c: service.delete_instance(c, p, iid, within))
