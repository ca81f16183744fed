"""The catalog's URL map: each area's ``routes.add_routes`` lists its own lines."""

from __future__ import annotations

from aiohttp import web

from hspm.catalog.builds import routes as builds
from hspm.catalog.interfaces import routes as interfaces
from hspm.catalog.marketplace import routes as marketplace
from hspm.catalog.media import routes as media
from hspm.catalog.products import routes as products
from hspm.catalog.search import routes as search
from hspm.common.web import Api

AREAS = (search, products, media, builds, marketplace, interfaces)


def setup_routes(app: web.Application) -> Api:
    api = Api(title="HSP Marketplace catalog")
    for area in AREAS:
        area.add_routes(api, app.router)
    app.router.add_get("/openapi.json", api.handler())
    return api
