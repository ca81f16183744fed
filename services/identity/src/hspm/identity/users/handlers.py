"""HTTP handlers of users and identities: parse, call one service function, render
(``hspm.common.endpoints``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiohttp import web

from hspm.common.endpoints import Endpoints
from hspm.identity.users import models, service, views

USERS = Endpoints.of(views.user)
USER = Endpoints.of(views.user, "user_id")
IDENTITIES = Endpoints.of(views.identity, "user_id")
IDENTITY = Endpoints.of(views.identity, "user_id", "identity_id")


def _user_filters(request: web.Request) -> Sequence[Any]:
    return request.query.get("name"), request.query.get("external_id")


list_users = USERS.index(
    service.list_users, ("name", "external_id", "created_at", "updated_at"), "name", _user_filters
)
create_user = USERS.create(service.create_user, models.UserCreate, "user")
get_user = USER.show(service.get_user)
update_user = USER.update(service.update_user, models.UserUpdate, "user")
delete_user = USER.show(service.delete_user)

list_identities = IDENTITIES.index(service.list_identities, ("created_at", "sub", "email"), "created_at")
create_identity = IDENTITIES.create(service.create_identity, models.IdentityCreate, "identity")
get_identity = IDENTITY.show(service.get_identity)
update_identity = IDENTITY.update(service.update_identity, models.IdentityUpdate, "identity")
delete_identity = IDENTITY.show(service.delete_identity)
