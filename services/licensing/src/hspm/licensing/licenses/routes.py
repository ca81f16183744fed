"""The licenses area's URL map."""

from __future__ import annotations

from aiohttp import web

from hspm.common.web import PAGED, Api, Crud
from hspm.licensing.licenses import handlers as h
from hspm.licensing.licenses import models as m


def add_routes(api: Api, router: web.UrlDispatcher) -> None:
    """Register this area's routes; each is also an OpenAPI operation."""
    api.resource(router, LICENSES)


LICENSES = Crud(
    collection="/licenses",
    item="/licenses/{license_id}",
    tag="Licenses",
    noun="license",
    plural="licenses",
    index=h.list_licenses,
    create=h.create_license,
    show=h.get_license,
    update=h.update_license,
    delete=h.delete_license,
    create_model=m.LicenseCreate,
    update_model=m.LicenseUpdate,
    query=(*PAGED, "name", "expiry"),
    # DELETE answers 200 with the license, as the reference server does.
    delete_status=200,
    permissions={"create": "licenses.create", "update": "licenses.update", "delete": "licenses.delete"},
    summaries={
        "index": "List licenses (public terms; filter by name prefix and expiry)",
        "show": "Show a license (public)",
        "delete": "Delete a license no product is offered under",
    },
)
