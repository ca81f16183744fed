"""The interfaces area's URL map: interfaces (operator-managed) and their surrogates."""

from __future__ import annotations

from functools import partial

from aiohttp import web

from hspm.catalog.interfaces import handlers as h
from hspm.catalog.interfaces import models as m
from hspm.common.web import PAGED, Api, Crud

I = "/interfaces/{interface_id}"  # noqa: E741
# Surrogates are part of their interface's declaration: the same tag and permissions cover them.
WRITES = {"create": "interfaces.create", "update": "interfaces.update", "delete": "interfaces.delete"}
_resource = partial(Crud, tag="Interfaces", permissions=WRITES)


def add_routes(api: Api, router: web.UrlDispatcher) -> None:
    """Register this area's routes (one resource each)."""
    api.resource(router, INTERFACES)
    api.resource(router, SURROGATES)


INTERFACES = _resource(
    collection="/interfaces",
    item=I,
    noun="interface",
    plural="interfaces",
    index=h.list_interfaces,
    create=h.create_interface,
    show=h.get_interface,
    update=h.update_interface,
    delete=h.delete_interface,
    create_model=m.InterfaceCreate,
    update_model=m.InterfaceUpdate,
    query=(*PAGED, "name"),
    summaries={
        "create": "Declare an interface",
        "delete": "Delete an interface (cascades exposures, dependencies)",
    },
)
SURROGATES = _resource(
    collection=I + "/surrogates",
    item=I + "/surrogates/{surrogate_id}",
    noun="surrogate",
    plural="surrogates",
    index=h.list_surrogates,
    create=h.create_surrogate,
    show=h.get_surrogate,
    update=h.update_surrogate,
    delete=h.delete_surrogate,
    create_model=m.SurrogateCreate,
    update_model=m.SurrogateUpdate,
    summaries={"index": "List an interface's surrogates", "create": "Declare a surrogate"},
)
