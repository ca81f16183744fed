"""The identity service's URL map; every line is also an OpenAPI operation."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hspm.common.web import Api
from hspm.identity import handlers as h
from hspm.identity import models as m

U = "/users/{user_id}"
G = "/groups/{group_id}"
R = "/roles/{role_id}"
P = "/identity_providers/{idp_id}"
PAGED = ["page", "per_page", "sort", "order"]


def setup_routes(app: web.Application) -> Api:
    api = Api(title="HSP Marketplace identity")
    r = app.router

    def add(method: str, path: str, handler: Any, summary: str, tag: str, **kw: Any) -> None:
        api.route(r, method, path, handler, summary, tag=tag, **kw)

    add("GET", "/status", h.status, "Health, and the caller's identity and permissions", "Status")
    add("GET", "/.well-known/jwks.json", h.jwks, "Public keys of the Marketplace's tokens", "Sessions")
    add(
        "GET",
        "/internal/sessions/{session_id}",
        h.internal_session,
        "Principal of a session (gateway only)",
        "Internal",
    )

    add(
        "GET",
        "/sessions",
        h.session_callback,
        "OpenID Connect callback: issues the Marketplace token",
        "Sessions",
        query=["code", "state"],
    )
    add("DELETE", "/sessions", h.logout, "Log out: revokes the caller's token", "Sessions")
    add("DELETE", "/session", h.logout, "Log out (singular spelling of the spec)", "Sessions")

    add(
        "GET",
        "/users",
        h.list_users,
        "List users",
        "Users",
        permission="users.read",
        query=[*PAGED, "name", "external_id"],
    )
    add(
        "POST",
        "/users",
        h.create_user,
        "Create a user",
        "Users",
        request=m.UserCreate,
        status=201,
        permission="users.create",
    )
    add("GET", U, h.get_user, "Show a user", "Users", permission="users.read")
    add("PUT", U, h.update_user, "Update a user", "Users", request=m.UserUpdate, permission="users.update")
    add("PATCH", U, h.update_user, "Update a user", "Users", request=m.UserUpdate, permission="users.update")
    add(
        "DELETE",
        U,
        h.delete_user,
        "Delete a user and everything they own here",
        "Users",
        permission="users.delete",
    )

    add("GET", f"{U}/identities", h.list_identities, "List a user's identities", "Identities", query=PAGED)
    add(
        "POST",
        f"{U}/identities",
        h.create_identity,
        "Link an identity",
        "Identities",
        request=m.IdentityCreate,
        status=201,
        permission="users.update",
    )
    add("GET", f"{U}/identities/{{identity_id}}", h.get_identity, "Show an identity", "Identities")
    add(
        "PUT",
        f"{U}/identities/{{identity_id}}",
        h.update_identity,
        "Update an identity",
        "Identities",
        request=m.IdentityUpdate,
    )
    add(
        "PATCH",
        f"{U}/identities/{{identity_id}}",
        h.update_identity,
        "Update an identity",
        "Identities",
        request=m.IdentityUpdate,
    )
    add("DELETE", f"{U}/identities/{{identity_id}}", h.delete_identity, "Unlink an identity", "Identities")

    add("GET", f"{U}/api_tokens", h.list_api_tokens, "List a user's API tokens", "API tokens", query=PAGED)
    add(
        "POST",
        f"{U}/api_tokens",
        h.create_api_token,
        "Create an API token (shown once)",
        "API tokens",
        request=m.ApiTokenCreate,
        status=201,
    )
    add("GET", f"{U}/api_tokens/{{token_id}}", h.get_api_token, "Show an API token", "API tokens")
    add("DELETE", f"{U}/api_tokens/{{token_id}}", h.revoke_api_token, "Revoke an API token", "API tokens")

    add(
        "GET",
        "/groups",
        h.list_groups,
        "List groups",
        "Groups",
        permission="groups.read",
        query=[*PAGED, "name", "role"],
    )
    add(
        "POST",
        "/groups",
        h.create_group,
        "Create a group",
        "Groups",
        request=m.GroupCreate,
        status=201,
        permission="groups.create",
    )
    add("GET", G, h.get_group, "Show a group", "Groups", permission="groups.read")
    add(
        "PUT",
        G,
        h.update_group,
        "Update a group",
        "Groups",
        request=m.GroupUpdate,
        permission="groups.update",
    )
    add(
        "PATCH",
        G,
        h.update_group,
        "Update a group",
        "Groups",
        request=m.GroupUpdate,
        permission="groups.update",
    )
    add("DELETE", G, h.delete_group, "Delete a group", "Groups", status=204, permission="groups.delete")
    add(
        "GET",
        f"{G}/members",
        h.list_members,
        "List a group's members",
        "Groups",
        permission="groups.read",
        query=PAGED,
    )
    add(
        "POST",
        f"{G}/members",
        h.add_member,
        "Add a member",
        "Groups",
        request=m.MemberCreate,
        status=201,
        permission="groups.update",
    )
    add(
        "GET",
        f"{G}/members/{{member_id}}",
        h.get_member,
        "Show a membership",
        "Groups",
        permission="groups.read",
    )
    add(
        "DELETE",
        f"{G}/members/{{member_id}}",
        h.remove_member,
        "Remove a member",
        "Groups",
        status=204,
        permission="groups.update",
    )

    add(
        "GET",
        "/roles",
        h.list_roles,
        "List roles",
        "Roles",
        permission="roles.read",
        query=[*PAGED, "default", "name"],
    )
    add(
        "POST",
        "/roles",
        h.create_role,
        "Create a role",
        "Roles",
        request=m.RoleCreate,
        status=201,
        permission="roles.create",
    )
    add("GET", R, h.get_role, "Show a role", "Roles", permission="roles.read")
    add("PUT", R, h.update_role, "Update a role", "Roles", request=m.RoleUpdate, permission="roles.update")
    add("PATCH", R, h.update_role, "Update a role", "Roles", request=m.RoleUpdate, permission="roles.update")
    add("DELETE", R, h.delete_role, "Delete a role", "Roles", permission="roles.delete")
    add(
        "GET",
        f"{R}/appointments",
        h.list_appointments,
        "List a role's appointments",
        "Roles",
        permission="roles.read",
        query=PAGED,
    )
    add(
        "POST",
        f"{R}/appointments",
        h.create_appointment,
        "Appoint a user or group",
        "Roles",
        request=m.AppointmentCreate,
        status=201,
        permission="roles.update",
    )
    add(
        "GET",
        f"{R}/appointments/{{appointment_id}}",
        h.get_appointment,
        "Show an appointment",
        "Roles",
        permission="roles.read",
    )
    add(
        "DELETE",
        f"{R}/appointments/{{appointment_id}}",
        h.delete_appointment,
        "Dismiss an appointment",
        "Roles",
        status=204,
        permission="roles.update",
    )

    add(
        "GET",
        "/identity_providers",
        h.list_identity_providers,
        "List identity providers (anonymous: enabled ones)",
        "Identity providers",
        query=PAGED,
    )
    add(
        "POST",
        "/identity_providers",
        h.create_identity_provider,
        "Register an identity provider",
        "Identity providers",
        request=m.IdentityProviderCreate,
        status=201,
        permission="identity_providers.create",
    )
    add("GET", P, h.get_identity_provider, "Show an identity provider", "Identity providers")
    add(
        "PUT",
        P,
        h.update_identity_provider,
        "Update an identity provider",
        "Identity providers",
        request=m.IdentityProviderUpdate,
        permission="identity_providers.update",
    )
    add(
        "PATCH",
        P,
        h.update_identity_provider,
        "Update an identity provider",
        "Identity providers",
        request=m.IdentityProviderUpdate,
        permission="identity_providers.update",
    )
    add(
        "DELETE",
        P,
        h.delete_identity_provider,
        "Delete an identity provider",
        "Identity providers",
        permission="identity_providers.delete",
    )
    add("GET", f"{P}/redirect", h.idp_redirect, "Start an OpenID Connect login", "Sessions", status=302)
    add(
        "POST",
        f"{P}/enable",
        h.enable_identity_provider,
        "Enable logins through it",
        "Identity providers",
        permission="identity_providers.update",
    )
    add(
        "POST",
        f"{P}/disable",
        h.disable_identity_provider,
        "Disable logins through it",
        "Identity providers",
        permission="identity_providers.update",
    )

    r.add_get("/openapi.json", api.handler())
    return api
