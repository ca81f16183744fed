"""The identity providers area's URL map (a provider's login redirect is the sessions area's)."""

from __future__ import annotations

from aiohttp import web

from hspm.common.web import Api, Crud
from hspm.identity.identity_providers import handlers as h
from hspm.identity.identity_providers import models as m

P = "/identity_providers/{idp_id}"
TAG = "Identity providers"
UPDATE = "identity_providers.update"

# Anyone may list and read enabled providers (login needs them).
PROVIDERS = Crud(
    collection="/identity_providers", item=P, tag=TAG, noun="identity provider",
    plural="identity providers", index=h.list_identity_providers, create=h.create_identity_provider,
    show=h.get_identity_provider, update=h.update_identity_provider, delete=h.delete_identity_provider,
    create_model=m.IdentityProviderCreate, update_model=m.IdentityProviderUpdate, delete_status=200,
    permissions={"create": "identity_providers.create", "update": UPDATE,
                 "delete": "identity_providers.delete"},
    summaries={"index": "List identity providers (anonymous: enabled ones)",
               "create": "Register an identity provider"},
)  # fmt: skip


def add_routes(api: Api, router: web.UrlDispatcher) -> None:
    """Register this area's routes; each is also an OpenAPI operation."""
    api.resource(router, PROVIDERS)
    for action, handler in (("enable", h.enable_identity_provider), ("disable", h.disable_identity_provider)):
        summary = f"{action.capitalize()} logins through it"
        api.route(router, "POST", f"{P}/{action}", handler, summary, tag=TAG, permission=UPDATE)
