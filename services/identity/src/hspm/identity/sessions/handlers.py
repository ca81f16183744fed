"""HTTP handlers of signing in and out and of the root documents: parse, call one service
function, render."""

from __future__ import annotations

from aiohttp import web

from hspm.common import handlers
from hspm.common.errors import Unauthorized, ValidationFailed
from hspm.common.web import json_response, path_id, principal_of
from hspm.common.web.body import read_model
from hspm.identity.config import Settings
from hspm.identity.keys import http_key, issuer_key, settings_key
from hspm.identity.sessions import models, service, views


def _units_of_work(request: web.Request) -> service.UnitOfWork:
    """The login's short units of work, each one of this request's (``handlers.tx``)."""
    return lambda: handlers.tx(request)


async def status(request: web.Request) -> web.Response:
    p = principal_of(request)
    async with handlers.tx(request) as conn:
        doc = await service.status(conn, p)
    return json_response(views.status(doc, handlers.base_url(request)))


async def jwks(request: web.Request) -> web.Response:
    """The public keys of the Marketplace's tokens; gateways cache them a while."""
    return json_response(request.app[issuer_key].jwks(), headers={"Cache-Control": "public, max-age=300"})


async def internal_session(request: web.Request) -> web.Response:
    """The gateway's principal lookup."""
    p, sid = principal_of(request), path_id(request, "session_id")
    async with handlers.tx(request) as conn:
        doc = await service.principal(conn, p, sid)
    return json_response(views.principal(doc))


# Binds a login in flight to the browser that started it (login CSRF); HttpOnly, sent only
# to the callback, and only as long as the login may take.
LOGIN_COOKIE = "hspm_login"
NO_STORE = {"Cache-Control": "no-store"}


def _login_cookie(response: web.StreamResponse, s: Settings, value: str | None) -> web.StreamResponse:
    """Set the login cookie to ``value``, or clear it (``None``)."""
    path, secure = views.login_cookie_path(s.public_url), views.login_cookie_secure(s.public_url)
    if value is None:
        response.del_cookie(LOGIN_COOKIE, path=path, secure=secure, httponly=True, samesite="Lax")
    else:
        response.set_cookie(
            LOGIN_COOKIE,
            value,
            max_age=s.oidc_login_ttl_seconds,
            path=path,
            secure=secure,
            httponly=True,
            samesite="Lax",
        )
    return response


def _redirect(location: str, status: int = 302) -> web.Response:
    return web.Response(status=status, headers={"Location": location} | NO_STORE)


async def idp_redirect(request: web.Request) -> web.StreamResponse:
    """Start a login: off to the identity provider, with the login cookie."""
    idp_id, s = path_id(request, "idp_id"), request.app[settings_key]
    started = await service.begin_login(_units_of_work(request), request.app[http_key], idp_id, s)
    return _login_cookie(_redirect(started.url), s, started.browser_key)


async def begin_session(request: web.Request) -> web.StreamResponse:
    """``POST /session`` (the spec): begin a login for ``provider_id``, as the redirect does."""
    body, s = await read_model(request, models.LoginStart, "session"), request.app[settings_key]
    started = await service.begin_login(_units_of_work(request), request.app[http_key], body.provider_id, s)
    return _login_cookie(_redirect(started.url, 303), s, started.browser_key)


async def session_callback(request: web.Request) -> web.StreamResponse:
    """The IdP's redirect target: turn ``code`` + ``state`` into the Marketplace's session.

    With a UI the browser goes there with a one-time code in the fragment; without one the
    answer is the token as JSON. The token itself never goes into a URL.
    """
    s, query = request.app[settings_key], request.query
    if "error" in query:
        raise Unauthorized(f"The identity provider refused the login: {query['error'][:100]}.")
    code, state = query.get("code"), query.get("state")
    if not code or not state:
        if s.ui_url:
            raise web.HTTPFound(s.ui_url)
        raise ValidationFailed({k: ["is required"] for k in ("code", "state") if not query.get(k)})
    browser_key = request.cookies.get(LOGIN_COOKIE)
    done = await service.complete_login(
        _units_of_work(request), request.app[http_key], state, code, browser_key, s
    )
    if done.code is not None:
        return _login_cookie(_redirect(views.ui_landing(s.ui_url, done.code)), s, None)
    token = views.session_token(request.app[issuer_key], done.session)
    return _login_cookie(json_response(views.logged_in(token, done.session), headers=NO_STORE), s, None)


async def redeem_login_code(request: web.Request) -> web.Response:
    """The UI trades the one-time code from its URL's fragment for the session's token."""
    body = await read_model(request, models.LoginCode, "session")
    async with handlers.tx(request) as conn:
        session = await service.redeem_login_code(conn, body.code)
    token = views.session_token(request.app[issuer_key], session)
    return json_response(views.logged_in(token, session), headers=NO_STORE)


async def start_device_sign_in(request: web.Request) -> web.Response:
    """A device (the command line) asks to be signed in: its codes and where to approve them."""
    body, s = await read_model(request, models.DeviceStart, "device_authorization"), request.app[settings_key]
    async with handlers.tx(request) as conn:
        started = await service.start_device_sign_in(conn, body.client_name)
    return json_response(views.device_started(started, s.public_url), status=201, headers=NO_STORE)


async def poll_device_sign_in(request: web.Request) -> web.Response:
    """The device's poll: 400 with RFC 8628's ``error`` until approved, then the session once."""
    body, s = await read_model(request, models.DeviceToken, "device_authorization"), request.app[settings_key]
    async with handlers.tx(request) as conn:
        poll = await service.poll_device_sign_in(conn, body.device_code, s.session_ttl_seconds)
    if poll.error is not None or poll.session is None or poll.user is None:
        return json_response(views.device_error(poll.error or "access_denied"), status=400, headers=NO_STORE)
    token = views.session_token(request.app[issuer_key], poll.session)
    doc = views.device_signed_in(token, poll.session, poll.user, handlers.base_url(request))
    return json_response(doc, headers=NO_STORE)


async def show_device_sign_in(request: web.Request) -> web.Response:
    """A pending sign-in by its user code, for the page that asks a person to approve it."""
    p = handlers.signed_in(request)
    body = await read_model(request, models.DeviceLookup, "device_authorization")
    async with handlers.tx(request, read_only=True) as conn:
        row = await service.find_device_sign_in(conn, p, body.user_code)
    code = service.format_user_code(service.normalize_user_code(body.user_code) or "")
    return json_response(views.device_pending(row, code), headers=NO_STORE)


async def decide_device_sign_in(request: web.Request) -> web.Response:
    """A signed-in person approves (or denies) a device sign-in by its user code."""
    p = handlers.signed_in(request)
    body = await read_model(request, models.DeviceDecision, "device_authorization")
    async with handlers.tx(request) as conn:
        await service.decide_device_sign_in(conn, p, body.user_code, body.approve)
    return web.Response(status=204)


async def logout(request: web.Request) -> web.Response:
    p = principal_of(request)
    async with handlers.tx(request) as conn:
        await service.log_out(conn, p)
    return json_response(views.LOGGED_OUT)
