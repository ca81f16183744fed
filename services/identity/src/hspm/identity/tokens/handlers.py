"""HTTP handlers of a user's API tokens: parse, call one service function, render
(``hspm.common.endpoints``)."""

from __future__ import annotations

from aiohttp import web

from hspm.common import handlers
from hspm.common.endpoints import Endpoints
from hspm.common.web import path_id, principal_of
from hspm.identity.keys import issuer_key, settings_key
from hspm.identity.tokens import models, service, views

TOKENS = Endpoints.of(views.api_token, "user_id")
TOKEN = Endpoints.of(views.api_token, "user_id", "token_id")

list_api_tokens = TOKENS.index(service.list_api_tokens, ("created_at", "name", "expires_at"), "created_at")
get_api_token = TOKEN.show(service.get_api_token)
revoke_api_token = TOKEN.show(service.revoke_api_token)


async def create_api_token(request: web.Request) -> web.Response:
    """The one answer that carries the token itself; the longest life is a setting."""
    body = await handlers.body(request, models.ApiTokenCreate, "api_token")
    p, uid = principal_of(request), path_id(request, "user_id")
    max_days = request.app[settings_key].api_token_max_days
    render = views.created_api_token(request.app[issuer_key])
    return await handlers.create(
        request, render, lambda c: service.create_api_token(c, p, uid, body, max_days)
    )
