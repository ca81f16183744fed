"""Signing in and out, and approving a command line's sign-in (the device flow).

Sign-in is the browser-bound OpenID Connect flow: the person picks a provider, the identity
service sends them there and back to ``/ui/login/done`` with a one-time code in the URL's
fragment. A few lines of script post that code here, and the web service trades it for the
session token, which stays in the encrypted cookie.
"""

from __future__ import annotations

import time
from datetime import datetime

from aiohttp import web

from hspm.web import keys
from hspm.web.api import ApiError
from hspm.web.render import api, form, page, redirect, text, ui_url

NEXT_COOKIE = "hspm_next"


def safe_next(request: web.Request, value: str | None) -> str:
    """Only a path of this UI: never another origin (``//evil``) nor another service."""
    ui = request.app[keys.settings].ui_path
    if value and value.startswith(ui + "/") and not value.startswith("//") and "\\" not in value:
        return value
    return ui + "/"


async def login(request: web.Request) -> web.Response:
    """The providers to sign in with; remembers where to come back to."""
    providers = await api(request).get("/identity_providers")
    response = page(request, "login.html", providers=providers.get("results", []))
    settings = request.app[keys.settings]
    response.set_cookie(
        NEXT_COOKIE,
        safe_next(request, request.query.get("next")),
        path=settings.ui_path,
        max_age=900,
        httponly=True,
        secure=settings.secure_cookies,
        samesite="Lax",
    )
    return response


async def landing(request: web.Request) -> web.Response:
    """Where the identity service sends the browser; the script posts the fragment's code."""
    return page(request, "login_done.html")


async def finish(request: web.Request) -> web.Response:
    """Trade the one-time code for the session token, read who it is, and go on."""
    code = text(await form(request), "code", 512)
    if not code:
        return page(request, "login_done.html", status=400, error="No sign-in code was received.")
    client = api(request)
    try:
        done = await client.post("/sessions/token", {"code": code})
    except ApiError as error:
        if error.status in (400, 401, 404, 422):
            return page(
                request, "login_done.html", status=400, error="This sign-in has expired; start again."
            )
        raise
    return await _sign_in(request, str(done["jwt"]), _epoch(done.get("expires_at")))


async def _sign_in(request: web.Request, token: str, expires: int) -> web.Response:
    status = await api(request, token).get("/status")
    request[keys.session] = request.app[keys.box].signed_in(token, status, expires)
    request[keys.session_changed] = True
    target = safe_next(request, request.cookies.get(NEXT_COOKIE))
    response = web.Response(status=303, headers={"Location": target})
    response.del_cookie(NEXT_COOKIE, path=request.app[keys.settings].ui_path)
    return response


def _epoch(value: object) -> int:
    if isinstance(value, str):
        try:
            return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
        except ValueError:
            pass
    return int(time.time()) + 3600


async def logout(request: web.Request) -> web.Response:
    """Revoke the token at the API, then forget it here."""
    if request[keys.session].signed_in:
        try:
            await api(request).delete("/sessions")
        except ApiError as error:
            if error.status != 401:  # already gone is as good as revoked
                raise
    request[keys.session] = request[keys.session].signed_out(request.app[keys.settings].session_ttl_seconds)
    request[keys.session_changed] = True
    return redirect(request, "/")


def require_signed_in(request: web.Request) -> web.Response | None:
    """A redirect to sign in (and back here) for an anonymous visitor; None when signed in."""
    if request[keys.session].signed_in:
        return None
    return web.Response(
        status=303, headers={"Location": ui_url(request, "/login", {"next": request.path_qs})}
    )


async def device(request: web.Request) -> web.Response:
    """A command line asks to sign in as this person: show its code, approve or deny."""
    if (to_login := require_signed_in(request)) is not None:
        return to_login
    code = request.query.get("user_code", "").strip().upper()[:16]
    if not code:
        return page(request, "device.html", user_code=code)
    try:
        pending = await api(request).post("/device_authorizations/lookup", {"user_code": code})
    except ApiError as error:
        if error.status in (404, 422):
            return _unknown_code(request, code)
        raise
    return page(request, "device.html", user_code=code, client_name=pending["client_name"])


def _unknown_code(request: web.Request, code: str) -> web.Response:
    return page(
        request,
        "device.html",
        status=404,
        user_code=code,
        error="This code is unknown, used or expired. Start again at the command line.",
    )


async def device_decide(request: web.Request) -> web.Response:
    if (to_login := require_signed_in(request)) is not None:
        return to_login
    data = await form(request)
    code, approve = text(data, "user_code", 16).upper(), text(data, "decision") == "approve"
    try:
        await api(request).post("/device_authorizations/approve", {"user_code": code, "approve": approve})
    except ApiError as error:
        if error.status in (404, 422):
            return _unknown_code(request, code)
        raise
    return page(request, "device.html", user_code=code, done="approved" if approve else "denied")
