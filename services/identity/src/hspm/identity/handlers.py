"""HTTP handlers: parse, call the service in one transaction, render."""

from __future__ import annotations

from collections.abc import Awaitable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel

from hspm.common import permissions
from hspm.common.auth import Principal
from hspm.common.db import Conn
from hspm.common.errors import NotFound, Unauthorized, ValidationFailed
from hspm.common.lifecycle import pool_key, unit_of_work
from hspm.common.web import (
    PageParams,
    created,
    handlers,
    json_response,
    path_id,
    principal_of,
    query_bool,
    query_uuid,
)
from hspm.common.web.handlers import PageFn, Render, RowFn
from hspm.identity import access, models, oidc, service, store, views
from hspm.identity.keys import http_key, issuer_key, settings_key

M = TypeVar("M", bound=BaseModel)

API_ONLY = "This product provides an API only and does not offer a built-in graphical interface."
HEALTHY = "This application server and underlying database connection appear to be healthy."


def _base(request: web.Request) -> str:
    return request.app[settings_key].public_url.rstrip("/")


def _tx(request: web.Request) -> AbstractAsyncContextManager[Conn]:
    return unit_of_work(request)


_body = handlers.body


def _page(request: web.Request, sortable: tuple[str, ...], default: str) -> PageParams:
    return PageParams.parse(request.query, sortable, default)


# --- root documents --------------------------------------------------------------------


async def status(request: web.Request) -> web.Response:
    """The spec's health document, plus who the caller is when a token was sent."""
    p = principal_of(request)
    async with _tx(request) as conn:
        body: dict[str, Any] = {
            "message": HEALTHY,
            "product": {"datetime": datetime.now(UTC)},
            "database": {"datetime": await store.database_now(conn)},
        }
        if p.kind == "user" and p.user_id is not None:
            body.update(await _whoami(conn, request, p))
    return json_response(body)


async def _whoami(conn: Conn, request: web.Request, p: Principal) -> dict[str, Any]:
    assert p.user_id is not None
    user = await store.get_user(conn, p.user_id)
    session = await store.get_active_session(conn, p.session_id) if p.session_id else None
    identity = None
    if session is not None and session["identity_id"] is not None:
        ident = await store.session_identity(conn, session["identity_id"])
        if ident is not None:
            identity = {
                "id": ident["id"],
                "user_id": ident["user_id"],
                "provider": {"id": ident["provider_id"], "name": ident["provider_name"]},
            }
    user_json = views.user(user, _base(request)) if user else None
    return {
        "jwt": {
            "id": p.session_id,
            "kind": session["kind"] if session else None,
            "expires_at": session["expires_at"] if session else None,
        },
        "identity": (identity or {"id": None, "user_id": p.user_id, "provider": None}) | {"user": user_json},
        "user": user_json,
        "permissions": permissions.as_document(p.permissions),
    }


async def jwks(request: web.Request) -> web.Response:
    return json_response(request.app[issuer_key].jwks(), headers={"Cache-Control": "public, max-age=300"})


async def internal_session(request: web.Request) -> web.Response:
    """The gateway's principal lookup; only a service principal may ask."""
    if principal_of(request).kind != "service":
        raise NotFound("Not found.")
    async with _tx(request) as conn:
        doc = await access.session_principal(conn, path_id(request, "session_id"))
    if doc is None:
        raise NotFound("Session unknown, expired or revoked.")
    return json_response(doc)


# --- sessions (OIDC login and logout) ----------------------------------------------------


async def idp_redirect(request: web.Request) -> web.Response:
    s = request.app[settings_key]
    url = await oidc.begin(
        request.app[pool_key],
        request.app[http_key],
        path_id(request, "idp_id"),
        s.public_url,
        s.oidc_refresh_seconds,
    )
    raise web.HTTPFound(url)


async def session_callback(request: web.Request) -> web.Response:
    """The IdP's redirect target: turn ``code`` + ``state`` into the Marketplace's token."""
    s = request.app[settings_key]
    if "error" in request.query:
        raise Unauthorized(f"The identity provider refused the login: {request.query['error'][:100]}.")
    code, state = request.query.get("code"), request.query.get("state")
    if not code or not state:
        if s.ui_url:
            raise web.HTTPFound(s.ui_url)
        raise ValidationFailed({k: ["is required"] for k in ("code", "state") if not request.query.get(k)})
    user_id, session_id = await oidc.complete(
        request.app[pool_key],
        request.app[http_key],
        state,
        code,
        s.public_url,
        (s.oidc_login_ttl_seconds, s.oidc_refresh_seconds, s.session_ttl_seconds),
    )
    async with _tx(request) as conn:
        row = await store.get_active_session(conn, session_id)
    assert row is not None
    token = request.app[issuer_key].issue(user_id, session_id, "session", row["expires_at"])
    if s.ui_url:
        raise web.HTTPFound(f"{s.ui_url}{'&' if '?' in s.ui_url else '?'}jwt={token}")
    return json_response({"jwt": token, "authorization": f"Bearer {token}", "expires_at": row["expires_at"]})


async def logout(request: web.Request) -> web.Response:
    p = principal_of(request)
    if p.is_anonymous:
        raise Unauthorized("You are not signed in.")
    async with _tx(request) as conn:
        await service.end_session(conn, p)
    return json_response({"message": "Logged out."})


# --- generic shapes ------------------------------------------------------------------------


def _show(request: web.Request, render: Render, fn: RowFn) -> Awaitable[web.Response]:
    return handlers.show(request, _base(request), render, fn)


def _index(
    request: web.Request, render: Render, fn: PageFn, sortable: tuple[str, ...], default: str
) -> Awaitable[web.Response]:
    return handlers.index(request, _base(request), render, fn, sortable, default)


# --- users and identities ------------------------------------------------------------------


async def list_users(request: web.Request) -> web.Response:
    p, q = principal_of(request), request.query
    return await _index(
        request,
        views.user,
        lambda c, page: service.list_users(c, p, page, q.get("name"), q.get("external_id")),
        ("name", "external_id", "created_at", "updated_at"),
        "name",
    )


async def create_user(request: web.Request) -> web.Response:
    body = await _body(request, models.UserCreate, "user")
    async with _tx(request) as conn:
        row = await service.create_user(conn, principal_of(request), body)
    return created(views.user(row, _base(request)))


async def get_user(request: web.Request) -> web.Response:
    p, uid = principal_of(request), path_id(request, "user_id")
    return await _show(request, views.user, lambda c: service.get_user(c, p, uid))


async def update_user(request: web.Request) -> web.Response:
    body = await _body(request, models.UserUpdate, "user")
    p, uid = principal_of(request), path_id(request, "user_id")
    return await _show(request, views.user, lambda c: service.update_user(c, p, uid, body))


async def delete_user(request: web.Request) -> web.Response:
    p, uid = principal_of(request), path_id(request, "user_id")
    return await _show(request, views.user, lambda c: service.delete_user(c, p, uid))


async def list_identities(request: web.Request) -> web.Response:
    p, uid = principal_of(request), path_id(request, "user_id")
    return await _index(
        request,
        views.identity,
        lambda c, page: service.list_identities(c, p, uid, page),
        ("created_at", "sub", "email"),
        "created_at",
    )


async def create_identity(request: web.Request) -> web.Response:
    body = await _body(request, models.IdentityCreate, "identity")
    async with _tx(request) as conn:
        row = await service.create_identity(conn, principal_of(request), path_id(request, "user_id"), body)
    return created(views.identity(row, _base(request)))


async def get_identity(request: web.Request) -> web.Response:
    p, uid, iid = principal_of(request), path_id(request, "user_id"), path_id(request, "identity_id")
    return await _show(request, views.identity, lambda c: service.get_identity(c, p, uid, iid))


async def update_identity(request: web.Request) -> web.Response:
    body = await _body(request, models.IdentityUpdate, "identity")
    p, uid, iid = principal_of(request), path_id(request, "user_id"), path_id(request, "identity_id")
    return await _show(request, views.identity, lambda c: service.update_identity(c, p, uid, iid, body))


async def delete_identity(request: web.Request) -> web.Response:
    p, uid, iid = principal_of(request), path_id(request, "user_id"), path_id(request, "identity_id")
    return await _show(request, views.identity, lambda c: service.delete_identity(c, p, uid, iid))


# --- API tokens ----------------------------------------------------------------------------


async def list_api_tokens(request: web.Request) -> web.Response:
    p, uid = principal_of(request), path_id(request, "user_id")
    return await _index(
        request,
        views.api_token,
        lambda c, page: service.list_api_tokens(c, p, uid, page),
        ("created_at", "name", "expires_at"),
        "created_at",
    )


async def create_api_token(request: web.Request) -> web.Response:
    body = await _body(request, models.ApiTokenCreate, "api_token")
    s = request.app[settings_key]
    async with _tx(request) as conn:
        row = await service.create_api_token(
            conn, principal_of(request), path_id(request, "user_id"), body, s.api_token_max_days
        )
    payload = views.api_token(row, _base(request))
    # The token itself is shown once, here; only its record is kept.
    payload["token"] = request.app[issuer_key].issue(row["user_id"], row["id"], "api", row["expires_at"])
    return created(payload)


async def get_api_token(request: web.Request) -> web.Response:
    p, uid, tid = principal_of(request), path_id(request, "user_id"), path_id(request, "token_id")
    return await _show(request, views.api_token, lambda c: service.get_api_token(c, p, uid, tid))


async def revoke_api_token(request: web.Request) -> web.Response:
    p, uid, tid = principal_of(request), path_id(request, "user_id"), path_id(request, "token_id")
    return await _show(request, views.api_token, lambda c: service.revoke_api_token(c, p, uid, tid))


# --- groups and members --------------------------------------------------------------------


async def list_groups(request: web.Request) -> web.Response:
    p = principal_of(request)
    p.require("groups", "read")
    name, role = request.query.get("name"), query_uuid(request, "role")
    return await _index(
        request,
        views.group,
        lambda c, page: store.list_groups(c, page, name, role),
        ("name", "description", "created_at"),
        "name",
    )


async def create_group(request: web.Request) -> web.Response:
    body = await _body(request, models.GroupCreate, "group")
    async with _tx(request) as conn:
        row = await service.create_group(conn, principal_of(request), body)
    return created(views.group(row, _base(request)))


async def get_group(request: web.Request) -> web.Response:
    p, gid = principal_of(request), path_id(request, "group_id")
    return await _show(request, views.group, lambda c: service.get_group(c, p, gid))


async def update_group(request: web.Request) -> web.Response:
    body = await _body(request, models.GroupUpdate, "group")
    p, gid = principal_of(request), path_id(request, "group_id")
    return await _show(request, views.group, lambda c: service.update_group(c, p, gid, body))


async def delete_group(request: web.Request) -> web.Response:
    async with _tx(request) as conn:
        await service.delete_group(conn, principal_of(request), path_id(request, "group_id"))
    return web.Response(status=204)


async def list_members(request: web.Request) -> web.Response:
    p, gid = principal_of(request), path_id(request, "group_id")
    return await _index(
        request,
        views.member,
        lambda c, page: service.list_members(c, p, gid, page),
        ("created_at",),
        "created_at",
    )


async def add_member(request: web.Request) -> web.Response:
    body = await _body(request, models.MemberCreate, "member")
    async with _tx(request) as conn:
        row = await service.add_member(conn, principal_of(request), path_id(request, "group_id"), body)
    return created(views.member(row, _base(request)))


async def get_member(request: web.Request) -> web.Response:
    p, gid, mid = principal_of(request), path_id(request, "group_id"), path_id(request, "member_id")
    return await _show(request, views.member, lambda c: service.get_member(c, p, gid, mid))


async def remove_member(request: web.Request) -> web.Response:
    async with _tx(request) as conn:
        await service.remove_member(
            conn, principal_of(request), path_id(request, "group_id"), path_id(request, "member_id")
        )
    return web.Response(status=204)


# --- roles and appointments ----------------------------------------------------------------


async def list_roles(request: web.Request) -> web.Response:
    p = principal_of(request)
    p.require("roles", "read")
    default, name = query_bool(request, "default"), request.query.get("name")
    return await _index(
        request,
        views.role,
        lambda c, page: store.list_roles(c, page, default, name),
        ("name", "default", "created_at"),
        "name",
    )


async def create_role(request: web.Request) -> web.Response:
    body = await _body(request, models.RoleCreate, "role")
    async with _tx(request) as conn:
        row = await service.create_role(conn, principal_of(request), body)
    return created(views.role(row, _base(request)))


async def get_role(request: web.Request) -> web.Response:
    p, rid = principal_of(request), path_id(request, "role_id")
    return await _show(request, views.role, lambda c: service.get_role(c, p, rid))


async def update_role(request: web.Request) -> web.Response:
    body = await _body(request, models.RoleUpdate, "role")
    p, rid = principal_of(request), path_id(request, "role_id")
    return await _show(request, views.role, lambda c: service.update_role(c, p, rid, body))


async def delete_role(request: web.Request) -> web.Response:
    p, rid = principal_of(request), path_id(request, "role_id")
    return await _show(request, views.role, lambda c: service.delete_role(c, p, rid))


async def list_appointments(request: web.Request) -> web.Response:
    p, rid = principal_of(request), path_id(request, "role_id")
    return await _index(
        request,
        views.appointment,
        lambda c, page: service.list_appointments(c, p, rid, page),
        ("created_at",),
        "created_at",
    )


async def create_appointment(request: web.Request) -> web.Response:
    body = await _body(request, models.AppointmentCreate, "appointment")
    async with _tx(request) as conn:
        row = await service.appoint(conn, principal_of(request), path_id(request, "role_id"), body)
    return created(views.appointment(row, _base(request)))


async def get_appointment(request: web.Request) -> web.Response:
    p, rid, aid = principal_of(request), path_id(request, "role_id"), path_id(request, "appointment_id")
    return await _show(request, views.appointment, lambda c: service.get_appointment(c, p, rid, aid))


async def delete_appointment(request: web.Request) -> web.Response:
    async with _tx(request) as conn:
        await service.dismiss(
            conn, principal_of(request), path_id(request, "role_id"), path_id(request, "appointment_id")
        )
    return web.Response(status=204)


# --- identity providers --------------------------------------------------------------------


def _idp_view(p: Principal) -> Render:
    full = p.can("identity_providers", "update")
    return lambda row, base: views.identity_provider(row, base, full)


async def list_identity_providers(request: web.Request) -> web.Response:
    p = principal_of(request)
    enabled_only = not p.can("identity_providers", "update")
    return await _index(
        request,
        _idp_view(p),
        lambda c, page: store.list_identity_providers(c, page, enabled_only),
        ("name", "issuer", "created_at"),
        "name",
    )


async def create_identity_provider(request: web.Request) -> web.Response:
    body = await _body(request, models.IdentityProviderCreate, "identity_provider")
    p = principal_of(request)
    async with _tx(request) as conn:
        row = await service.create_identity_provider(conn, p, body)
    return created(_idp_view(p)(row, _base(request)))


async def get_identity_provider(request: web.Request) -> web.Response:
    p, iid = principal_of(request), path_id(request, "idp_id")
    return await _show(request, _idp_view(p), lambda c: service.get_identity_provider(c, p, iid))


async def update_identity_provider(request: web.Request) -> web.Response:
    body = await _body(request, models.IdentityProviderUpdate, "identity_provider")
    p, iid = principal_of(request), path_id(request, "idp_id")
    return await _show(request, _idp_view(p), lambda c: service.update_identity_provider(c, p, iid, body))


async def delete_identity_provider(request: web.Request) -> web.Response:
    p, iid = principal_of(request), path_id(request, "idp_id")
    return await _show(request, _idp_view(p), lambda c: service.delete_identity_provider(c, p, iid))


async def enable_identity_provider(request: web.Request) -> web.Response:
    p, iid = principal_of(request), path_id(request, "idp_id")
    return await _show(
        request, _idp_view(p), lambda c: service.set_identity_provider_enabled(c, p, iid, True)
    )


async def disable_identity_provider(request: web.Request) -> web.Response:
    p, iid = principal_of(request), path_id(request, "idp_id")
    return await _show(
        request, _idp_view(p), lambda c: service.set_identity_provider_enabled(c, p, iid, False)
    )


async def root(_: web.Request) -> web.Response:
    return json_response({"message": API_ONLY})
