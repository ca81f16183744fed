"""The interfaces area's URL map."""

from __future__ import annotations

from aiohttp import web

from hspm.catalog.interfaces import handlers as h
from hspm.catalog.interfaces import models as m
from hspm.common.web import Api

I = "/interfaces"  # noqa: E741
II = I + "/{interface_id}"
S = II + "/surrogates"
SS = S + "/{surrogate_id}"
PAGED = ["page", "per_page", "sort", "order"]
TAG = "Interfaces"


def add_routes(api: Api, router: web.UrlDispatcher) -> None:
    """Register this area's routes (one line each)."""
    add = api.route
    add(router, "GET", I, h.list_interfaces, "List interfaces", tag=TAG, query=[*PAGED, "name"])
    add(
        router,
        "POST",
        I,
        h.create_interface,
        "Declare an interface",
        tag=TAG,
        request=m.InterfaceCreate,
        status=201,
        permission="interfaces.create",
    )
    add(router, "GET", II, h.get_interface, "Show an interface", tag=TAG)
    add(
        router,
        "PUT",
        II,
        h.update_interface,
        "Update an interface",
        tag=TAG,
        request=m.InterfaceUpdate,
        permission="interfaces.update",
    )
    add(
        router,
        "PATCH",
        II,
        h.update_interface,
        "Update an interface",
        tag=TAG,
        request=m.InterfaceUpdate,
        permission="interfaces.update",
    )
    add(
        router,
        "DELETE",
        II,
        h.delete_interface,
        "Delete an interface (cascades exposures, dependencies)",
        tag=TAG,
        status=204,
        permission="interfaces.delete",
    )
    add(router, "GET", S, h.list_surrogates, "List an interface's surrogates", tag=TAG, query=PAGED)
    add(
        router,
        "POST",
        S,
        h.create_surrogate,
        "Declare a surrogate",
        tag=TAG,
        request=m.SurrogateCreate,
        status=201,
        permission="interfaces.create",
    )
    add(router, "GET", SS, h.get_surrogate, "Show a surrogate", tag=TAG)
    add(
        router,
        "PUT",
        SS,
        h.update_surrogate,
        "Update a surrogate",
        tag=TAG,
        request=m.SurrogateUpdate,
        permission="interfaces.update",
    )
    add(
        router,
        "PATCH",
        SS,
        h.update_surrogate,
        "Update a surrogate",
        tag=TAG,
        request=m.SurrogateUpdate,
        permission="interfaces.update",
    )
    add(
        router,
        "DELETE",
        SS,
        h.delete_surrogate,
        "Delete a surrogate",
        tag=TAG,
        status=204,
        permission="interfaces.delete",
    )
