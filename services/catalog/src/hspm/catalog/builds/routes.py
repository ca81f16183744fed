"""The builds area's URL map: builds, their submission and asset, and their packaging."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hspm.catalog.builds import handlers as h
from hspm.catalog.builds import models as m
from hspm.common.web import PAGED, Api, Crud

B = "/products/{product_id}/builds"
BB = h.BUILD
TAG = "Builds"
UPDATE = "builds.update"


def add_routes(api: Api, router: web.UrlDispatcher) -> None:
    """Register this area's routes (one line, or one resource, each)."""
    api.resource(router, BUILDS)
    a = api.route
    a(
        router,
        "POST",
        BB + "/submit",
        h.submit_build,
        "Submit a build to curation",
        tag=TAG,
        permission=UPDATE,
    )
    a(
        router,
        "PUT",
        BB + "/asset",
        h.put_asset,
        "Upload the build's asset (raw body)",
        tag=TAG,
        permission=UPDATE,
        query=["name"],
    )
    a(router, "GET", BB + "/asset", h.get_asset, "Download the build's asset", tag=TAG)
    a(
        router,
        "DELETE",
        BB + "/asset",
        h.delete_asset,
        "Remove the build's asset",
        tag=TAG,
        status=204,
        permission=UPDATE,
    )
    for kind in h.PACKAGING:
        api.resource(router, _packaging(kind))


BUILDS = Crud(
    collection=B,
    item=BB,
    tag=TAG,
    noun="build",
    plural="builds",
    index=h.list_builds,
    create=h.create_build,
    show=h.get_build,
    update=h.update_build,
    delete=h.delete_build,
    create_model=m.BuildCreate,
    update_model=m.BuildUpdate,
    query=(*PAGED, "version", "status"),
    # DELETE answers 200 with the build, as the reference server does.
    delete_status=200,
    permissions={"create": "builds.create", "update": UPDATE, "delete": "builds.delete"},
    summaries={
        "index": "List a product's builds",
        "create": "Create a draft build",
        "update": "Update a draft build",
    },
)


def _packaging(kind: h.Packaging[Any, Any]) -> Crud:
    """A packaging kind's five routes; every write needs the build's owner or ``builds.update``."""
    return Crud(
        collection=kind.collection,
        item=kind.item,
        tag=TAG,
        noun=kind.noun,
        plural=f"{kind.noun} records",
        index=kind.index,
        create=kind.create,
        show=kind.show,
        update=kind.update,
        delete=kind.delete,
        create_model=kind.create_model,
        update_model=kind.update_model,
        permissions=dict.fromkeys(("create", "update", "delete"), UPDATE),
        summaries={"index": f"List a build's {kind.noun} records"},
    )
