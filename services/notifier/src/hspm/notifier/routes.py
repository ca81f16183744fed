"""The notifier's URL map: each area's ``routes.add_routes`` lists its own lines."""

from __future__ import annotations

from aiohttp import web

from hspm.common.web import Api
from hspm.notifier.credentials import routes as credentials
from hspm.notifier.instances import routes as instances
from hspm.notifier.notices import routes as notices
from hspm.notifier.platforms import routes as platforms
from hspm.notifier.sockets import routes as sockets

# notices first: its literal /platforms/recalls must be matched before /platforms/{platform_id}.
AREAS = (notices, platforms, credentials, instances, sockets)


def setup_routes(app: web.Application) -> Api:
    api = Api(title="HSP Marketplace notifier")
    for area in AREAS:
        area.add_routes(api, app.router)
    app.router.add_get("/openapi.json", api.handler())
    return api
