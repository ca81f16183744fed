"""Curation's URL map: each area's ``routes.add_routes`` lists its own lines."""

from __future__ import annotations

from aiohttp import web

from hspm.common.web import Api
from hspm.curation.policy import routes as policy
from hspm.curation.recalls import routes as recalls
from hspm.curation.reviews import routes as reviews
from hspm.curation.validations import routes as validations

AREAS = (reviews, validations, policy, recalls)


def setup_routes(app: web.Application) -> Api:
    api = Api(title="HSP Marketplace curation")
    for area in AREAS:
        area.add_routes(api, app.router)
    app.router.add_get("/openapi.json", api.handler())
    return api
