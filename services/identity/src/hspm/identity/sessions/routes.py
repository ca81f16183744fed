"""The sessions area's URL map: login, device sign-in, logout, the gateway's lookup, the root
documents."""

from __future__ import annotations

from aiohttp import web

from hspm.common.web import Api
from hspm.identity.sessions import handlers as h
from hspm.identity.sessions import models as m

TAG = "Sessions"

# A browser without code and state goes back to the UI; a login with a UI lands there
# with a one-time code in the URL fragment.
TO_THE_UI = {"302": {"description": "To the UI (a one-time code in the fragment after a login)"}}
# RFC 8628 section 3.5: a poll's refusal is the OAuth error object, not a problem document;
# a body that is not JSON at all is still a problem.
DEVICE_ERROR = {
    "type": "object",
    "properties": {
        "error": {"enum": ["authorization_pending", "slow_down", "expired_token", "access_denied"]},
        "error_description": {"type": "string"},
    },
    "required": ["error", "error_description"],
}
DEVICE_POLL_REFUSED = {
    "400": {
        "description": "Not signed in (yet): an RFC 8628 error; or a body that is not JSON",
        "content": {
            "application/json": {"schema": DEVICE_ERROR},
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}},
        },
    }
}


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
        responses=TO_THE_UI,
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
    api.route(
        router,
        "POST",
        "/device_authorizations",
        h.start_device_sign_in,
        "Begin a device sign-in (the command line): a device code and a code to approve",
        tag=TAG,
        request=m.DeviceStart,
        status=201,
    )
    api.route(
        router,
        "POST",
        "/device_authorizations/token",
        h.poll_device_sign_in,
        "Poll a device sign-in: 400 with an RFC 8628 error until approved, then the session once",
        tag=TAG,
        request=m.DeviceToken,
        responses=DEVICE_POLL_REFUSED,
    )
    api.route(
        router,
        "POST",
        "/device_authorizations/approve",
        h.decide_device_sign_in,
        "Approve or deny a device sign-in by its user code (a signed-in person's session only)",
        tag=TAG,
        request=m.DeviceDecision,
        status=204,
    )
    api.route(
        router,
        "POST",
        "/device_authorizations/lookup",
        h.show_device_sign_in,
        "A pending device sign-in by its user code, for the approval page (a POST: codes stay out of URLs)",
        tag=TAG,
        request=m.DeviceLookup,
    )
    api.route(router, "DELETE", "/sessions", h.logout, "Log out: revokes the caller's token", tag=TAG)
    api.route(router, "DELETE", "/session", h.logout, "Log out (singular spelling of the spec)", tag=TAG)
