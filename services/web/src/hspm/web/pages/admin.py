"""The operator's directories: users and roles, identity providers, licenses, interfaces.

Each is a table of what the API lists, plus the one form that directory needs; the API
decides who may see and change what.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from hspm.web.pages.auth import require_signed_in
from hspm.web.pages.forms import compact, optional, submit
from hspm.web.pages.ids import path_uuid, uuid_or_none
from hspm.web.render import api, form, page, redirect, text

# name -> (API collection, title, columns, the create form's fields or () for none)
DIRECTORIES: dict[str, tuple[str, str, tuple[str, ...], tuple[str, ...]]] = {
    "users": ("/users", "Users", ("name", "email", "created_at"), ()),
    "identity_providers": ("/identity_providers", "Identity providers", ("name", "issuer", "enabled"), ()),
    "licenses": (
        "/licenses",
        "Licenses",
        ("name", "expiry", "url"),
        ("name", "url", "description", "expiry"),
    ),
    "interfaces": ("/interfaces", "Interfaces", ("name", "uri", "version"), ("name", "uri", "version")),
    "badges": ("/badges", "Badges", ("name", "description"), ("name", "description")),
}


async def directory(request: web.Request, **extra: Any) -> web.Response:
    if (to_login := require_signed_in(request)) is not None:
        return to_login
    name = request.match_info["directory"]
    if name not in DIRECTORIES:
        raise web.HTTPNotFound(reason="No such page")
    path, title, columns, fields = DIRECTORIES[name]
    client = api(request)
    rows, roles = await asyncio.gather(
        client.get(path, {"per_page": "100"}),
        optional(client.get("/roles", {"per_page": "100"})) if name == "users" else _nothing(),
    )
    context = {
        "name": name,
        "title": title,
        "rows": rows.get("results", []),
        "columns": columns,
        "fields": fields,
        "roles": (roles or {}).get("results", []),
        "values": {},
        "errors": {},
        "detail": None,
    }
    status = int(extra.pop("status", 200))
    return page(request, "admin/directory.html", status, **(context | extra))


async def _nothing() -> None:
    return None


async def create(request: web.Request) -> web.Response:
    name = request.match_info["directory"]
    if name not in DIRECTORIES or not DIRECTORIES[name][3]:
        raise web.HTTPNotFound(reason="No such page")
    path, _, _, fields = DIRECTORIES[name]
    data = await form(request)
    values = {k: text(data, k, 2000) for k in fields}

    async def again(status: int, errors: dict[str, list[str]], detail: str | None) -> web.Response:
        return await directory(request, status=status, values=values, errors=errors, detail=detail)

    return await submit(
        api(request).post(path, compact(values)), again, lambda _: redirect(request, f"/admin/{name}")
    )


async def provider_switch(request: web.Request) -> web.Response:
    """Enable or disable logins through an identity provider."""
    idp, data = path_uuid(request, "idp_id"), await form(request)
    action = "enable" if text(data, "action") == "enable" else "disable"
    await api(request).post(f"/identity_providers/{idp}/{action}")
    return redirect(request, "/admin/identity_providers")


async def appoint(request: web.Request) -> web.Response:
    """Give a user a role."""
    data = await form(request)
    role, user = uuid_or_none(text(data, "role_id")), uuid_or_none(text(data, "user_id"))
    if role is None or user is None:
        return await directory(request, status=422, detail="Choose a user and a role.")
    await api(request).post(f"/roles/{role}/appointments", {"user_id": user})
    return redirect(request, "/admin/users")
