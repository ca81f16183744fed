"""HTTP handlers of identity providers: parse, call one service function, render
(``hspm.common.endpoints``). What a provider shows depends on the caller (``views.for_caller``)."""

from __future__ import annotations

from hspm.common.endpoints import Endpoints
from hspm.identity.identity_providers import models, service, views

PROVIDERS = Endpoints(views.for_caller)
PROVIDER = Endpoints(views.for_caller, ("idp_id",))

list_identity_providers = PROVIDERS.index(
    service.list_identity_providers, ("name", "issuer", "created_at"), "name"
)
create_identity_provider = PROVIDERS.create(
    service.create_identity_provider, models.IdentityProviderCreate, "identity_provider"
)
get_identity_provider = PROVIDER.show(service.get_identity_provider)
update_identity_provider = PROVIDER.update(
    service.update_identity_provider, models.IdentityProviderUpdate, "identity_provider"
)
delete_identity_provider = PROVIDER.show(service.delete_identity_provider)
enable_identity_provider = PROVIDER.show(service.enable_identity_provider)
disable_identity_provider = PROVIDER.show(service.disable_identity_provider)
