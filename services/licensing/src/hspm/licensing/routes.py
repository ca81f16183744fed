"""Licensing's URL map: each area's ``routes.add_routes`` lists its own lines."""

from __future__ import annotations

from aiohttp import web

from hspm.common.web import Api
from hspm.licensing.authorizations import routes as authorizations
from hspm.licensing.entitlements import routes as entitlements
from hspm.licensing.licenses import routes as licenses
from hspm.licensing.offers import routes as offers
from hspm.licensing.offline import routes as offline
from hspm.licensing.reports import routes as reports
from hspm.licensing.vouchers import routes as vouchers

AREAS = (licenses, offers, entitlements, vouchers, authorizations, offline, reports)


def setup_routes(app: web.Application) -> Api:
    api = Api(title="HSP Marketplace licensing")
    for area in AREAS:
        area.add_routes(api, app.router)
    app.router.add_get("/openapi.json", api.handler())
    return api
