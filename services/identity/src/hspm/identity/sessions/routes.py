"""The sessions area's URL map: login, logout, the gateway's lookup, the root documents."""

from __future__ import annotations

from aiohttp import web

from hspm.common.web import Api
from hspm.identity.sessions import handlers as h
from hspm.identity.sessions import models as m

TAG = "Sessions"


def add_routes(api: Api, router: web.UrlDispatcher) -> None:
    """Register this area's routes; each is also an OpenAPI operation."""
    api.route(
        router, "GET", "/status", h.status, "Health, and the caller's identity and permissions", tag="Status"
    )
    api.route(
        router, "GET", "/.well-known/jwks.json", h.jwks, "Public keys of the Marketplace's tokens", tag=TAG
    )
    api.route(
        router,
        "GET",
        "/internal/sessions/{session_id}",
        h.internal_session,
        "Principal of a session (gateway only)",
        tag="Internal",
    )
    api.route(
        router,
        "GET",
        "/identity_providers/{idp_id}/redirect",
        h.idp_redirect,
        "Start an OpenID Connect login",
        tag=TAG,
        status=302,
    )
    api.route(
        router,
        "GET",
        "/sessions",
        h.session_callback,
        "OpenID Connect callback: issues the Marketplace token",
        tag=TAG,
        query=("code", "state"),
    )
    api.route(
        router,
        "POST",
        "/session",
        h.begin_session,
        "Begin an OpenID Connect login at provider_id (redirects to it)",
        tag=TAG,
        request=m.LoginStart,
        status=303,
    )
    api.route(
        router,
        "POST",
        "/sessions/token",
        h.redeem_login_code,
        "Trade the one-time code a login left in the UI's URL fragment for the token",
        tag=TAG,
        request=m.LoginCode,
    )
    api.route(router, "DELETE", "/sessions", h.logout, "Log out: revokes the caller's token", tag=TAG)
    api.route(router, "DELETE", "/session", h.logout, "Log out (singular spelling of the spec)", tag=TAG)
