"""The tokens area's URL map: a user's API tokens."""

from __future__ import annotations

from aiohttp import web

from hspm.common.web import Api, Crud
from hspm.identity.tokens import handlers as h
from hspm.identity.tokens import models as m

T = "/users/{user_id}/api_tokens"

# Who may list, mint or revoke depends on whose tokens they are: no one permission to document.
API_TOKENS = Crud(
    collection=T, item=f"{T}/{{token_id}}", tag="API tokens", noun="API token", plural="API tokens",
    index=h.list_api_tokens, create=h.create_api_token, show=h.get_api_token, delete=h.revoke_api_token,
    create_model=m.ApiTokenCreate, delete_status=200,
    summaries={"index": "List a user's API tokens", "create": "Create an API token (shown once)",
               "show": "Show an API token", "delete": "Revoke an API token"},
)  # fmt: skip


def add_routes(api: Api, router: web.UrlDispatcher) -> None:
    """Register this area's routes; each is also an OpenAPI operation."""
    api.resource(router, API_TOKENS)
