"""The instances area's URL map: the spec's nested routes, and the global shortcuts
(listed and created under /platforms/{platform_id}, then /instances/{instance_id})."""

from __future__ import annotations

from aiohttp import web

from hspm.common.web import PAGED, Api, Crud
from hspm.notifier.instances import handlers as h
from hspm.notifier.instances import models as m


def add_routes(api: Api, router: web.UrlDispatcher) -> None:
    """Register this area's routes; each is also an OpenAPI operation."""
    api.resource(router, USER_INSTANCES)
    api.resource(router, INSTANCES)


def _crud(collection: str, item: str) -> Crud:
    return Crud(
        collection=collection,
        item=item,
        tag="Instances",
        noun="instance",
        plural="instances",
        index=h.list_instances,
        create=h.create_instance,
        show=h.get_instance,
        update=h.update_instance,
        delete=h.delete_instance,
        create_model=m.InstanceCreate,
        update_model=m.InstanceUpdate,
        query=PAGED,
        delete_status=200,
        permissions={
            "index": "instances.read",
            "create": "instances.create",
            "show": "instances.read",
            "update": "instances.update",
            "delete": "instances.delete",
        },
        summaries={
            "create": "Deploy a published build on a platform (entitled, where licenses are offered)",
            "update": (
                "Change desired state or build, or report status (launch_bindings, deployed_at, errors)"
            ),
        },
    )


USER_INSTANCES = _crud(
    "/users/{user_id}/platforms/{platform_id}/instances",
    "/users/{user_id}/platforms/{platform_id}/instances/{instance_id}",
)
INSTANCES = _crud("/platforms/{platform_id}/instances", "/instances/{instance_id}")
