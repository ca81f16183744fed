"""The identity service's URL map: each area's ``routes.add_routes`` lists its own lines."""

from __future__ import annotations

from aiohttp import web

from hspm.common.web import Api
from hspm.identity.groups import routes as groups
from hspm.identity.identity_providers import routes as identity_providers
from hspm.identity.roles import routes as roles
from hspm.identity.sessions import routes as sessions
from hspm.identity.tokens import routes as tokens
from hspm.identity.users import routes as users

AREAS = (sessions, users, tokens, groups, roles, identity_providers)


def setup_routes(app: web.Application) -> Api:
    api = Api(title="HSP Marketplace identity")
    for area in AREAS:
        area.add_routes(api, app.router)
    app.router.add_get("/openapi.json", api.handler())
    return api
