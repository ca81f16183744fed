"""The platforms area's URL map: the spec's nested routes and the global shortcut."""

from __future__ import annotations

from aiohttp import web

from hspm.common.web import PAGED, Api, Crud
from hspm.notifier.platforms import handlers as h
from hspm.notifier.platforms import models as m


def add_routes(api: Api, router: web.UrlDispatcher) -> None:
    """Register this area's routes; each is also an OpenAPI operation."""
    api.resource(router, USER_PLATFORMS)
    api.resource(router, PLATFORMS)


def _crud(collection: str, item: str, summary_suffix: str) -> Crud:
    return Crud(
        collection=collection,
        item=item,
        tag="Platforms",
        noun="platform",
        plural="platforms",
        index=h.list_platforms,
        create=h.create_platform,
        show=h.get_platform,
        update=h.update_platform,
        delete=h.delete_platform,
        create_model=m.PlatformCreate,
        update_model=m.PlatformUpdate,
        query=(*PAGED, "name", "user_id"),
        delete_status=200,
        permissions={
            "index": "platforms.read",
            "create": "platforms.create",
            "show": "platforms.read",
            "update": "platforms.update",
            "delete": "platforms.delete",
        },
        summaries={
            "index": f"List platforms{summary_suffix} (a user sees their own; staff everyone's)",
            "delete": "Delete a platform with its instances and stream",
        },
    )


USER_PLATFORMS = _crud("/users/{user_id}/platforms", "/users/{user_id}/platforms/{platform_id}", " of a user")
PLATFORMS = _crud("/platforms", "/platforms/{platform_id}", "")
