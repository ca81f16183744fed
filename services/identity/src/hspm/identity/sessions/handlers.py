"""HTTP handlers of signing in and out and of the root documents: parse, call one service
function, render."""

from __future__ import annotations

from aiohttp import web

from hspm.common import handlers
from hspm.common.errors import Unauthorized, ValidationFailed
from hspm.common.web import json_response, path_id, principal_of
from hspm.identity.keys import http_key, issuer_key, settings_key
from hspm.identity.sessions import service, views


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


async def idp_redirect(request: web.Request) -> web.Response:
    """Start a login: off to the identity provider."""
    idp_id, s = path_id(request, "idp_id"), request.app[settings_key]
    raise web.HTTPFound(await service.begin_login(_units_of_work(request), request.app[http_key], idp_id, s))


async def session_callback(request: web.Request) -> web.Response:
    """The IdP's redirect target: turn ``code`` + ``state`` into the Marketplace's token."""
    s, query = request.app[settings_key], request.query
    if "error" in query:
        raise Unauthorized(f"The identity provider refused the login: {query['error'][:100]}.")
    code, state = query.get("code"), query.get("state")
    if not code or not state:
        if s.ui_url:
            raise web.HTTPFound(s.ui_url)
        raise ValidationFailed({k: ["is required"] for k in ("code", "state") if not query.get(k)})
    session = await service.complete_login(_units_of_work(request), request.app[http_key], state, code, s)
    token = views.session_token(request.app[issuer_key], session)
    if s.ui_url:
        raise web.HTTPFound(views.ui_landing(s.ui_url, token))
    return json_response(views.logged_in(token, session))


async def logout(request: web.Request) -> web.Response:
    p = principal_of(request)
    async with handlers.tx(request) as conn:
        await service.log_out(conn, p)
    return json_response(views.LOGGED_OUT)
