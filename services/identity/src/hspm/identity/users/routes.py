"""The users area's URL map: users and their identities."""

from __future__ import annotations

from aiohttp import web

from hspm.common.web import PAGED, Api, Crud
from hspm.identity.users import handlers as h
from hspm.identity.users import models as m

U = "/users/{user_id}"
IDENTITY = f"{U}/identities"

# Each resource's routes as one table row. Crud's default article would say "an user".
USERS = Crud(
    collection="/users", item=U, tag="Users", noun="user", plural="users",
    create=h.create_user, show=h.get_user, update=h.update_user, delete=h.delete_user,
    create_model=m.UserCreate, update_model=m.UserUpdate, delete_status=200,
    permissions={"create": "users.create", "show": "users.read", "update": "users.update",
                 "delete": "users.delete"},
    summaries={"create": "Create a user", "show": "Show a user", "update": "Update a user",
               "delete": "Delete a user and everything they own here"},
)  # fmt: skip
# Owners read and change their own identities: only linking one documents a permission.
IDENTITIES = Crud(
    collection=IDENTITY, item=f"{IDENTITY}/{{identity_id}}", tag="Identities", noun="identity",
    plural="identities", index=h.list_identities, create=h.create_identity, show=h.get_identity,
    update=h.update_identity, delete=h.delete_identity,
    create_model=m.IdentityCreate, update_model=m.IdentityUpdate, delete_status=200,
    permissions={"create": "users.update"},
    summaries={"index": "List a user's identities", "create": "Link an identity",
               "delete": "Unlink an identity"},
)  # fmt: skip


def add_routes(api: Api, router: web.UrlDispatcher) -> None:
    """Register this area's routes; each is also an OpenAPI operation."""
    # Crud documents no permission on an index; this one needs it.
    query = (*PAGED, "name", "external_id")
    api.route(
        router, "GET", "/users", h.list_users, "List users", tag="Users", permission="users.read", query=query
    )
    api.resource(router, USERS)
    api.resource(router, IDENTITIES)
