"""JSON shapes of the sessions area: the status document, the gateway's principal, tokens,
device sign-ins."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

import asyncpg

from hspm.common import permissions
from hspm.identity.sessions.service import DeviceStarted, SessionPrincipal, Status, Whoami, format_user_code
from hspm.identity.signing import TokenIssuer
from hspm.identity.users import views as users

HEALTHY = "This application server and underlying database connection appear to be healthy."
LOGGED_OUT = {"message": "Logged out."}


def status(doc: Status, base: str) -> dict[str, Any]:
    """The spec's health document, plus who the caller is when a user's token was sent."""
    body: dict[str, Any] = {
        "message": HEALTHY,
        "product": {"datetime": doc.product_time},
        "database": {"datetime": doc.database_time},
    }
    if doc.whoami is not None:
        body |= _whoami(doc.whoami, base)
    return body


def _whoami(who: Whoami, base: str) -> dict[str, Any]:
    user_json = users.user(who.user, base) if who.user else None
    identity: dict[str, Any] = {"id": None, "user_id": who.caller.user_id, "provider": None}
    if who.identity is not None and who.provider is not None:
        identity = {
            "id": who.identity["id"],
            "user_id": who.identity["user_id"],
            "provider": {"id": who.provider["id"], "name": who.provider["name"]},
        }
    session = who.session
    return {
        "jwt": {
            "id": who.caller.session_id,
            "kind": session["kind"] if session else None,
            "expires_at": session["expires_at"] if session else None,
        },
        "identity": identity | {"user": user_json},
        "user": user_json,
        "permissions": permissions.as_document(who.caller.permissions),
    }


def principal(doc: SessionPrincipal) -> dict[str, Any]:
    """What the gateway acts on for a session."""
    row, scopes = doc.session, doc.session["scopes"]
    return {
        "session_id": row["id"],
        "user_id": row["user_id"],
        "name": doc.name,
        "kind": row["kind"],
        "expires_at": row["expires_at"],
        "permissions": sorted(doc.permissions),
        # Owner rights follow the scopes too; None means a session or an unscoped ("*")
        # token. [] stays [] (a token that grants nothing), never None.
        "scopes": None if scopes is None or "*" in scopes else sorted(scopes),
    }


def session_token(issuer: TokenIssuer, session: asyncpg.Record) -> str:
    """The Marketplace's token for a login's session record."""
    return issuer.issue(session["user_id"], session["id"], "session", session["expires_at"])


def logged_in(token: str, session: asyncpg.Record) -> dict[str, Any]:
    """The callback's answer when no UI waits for the browser, and the code exchange's."""
    return {"jwt": token, "authorization": f"Bearer {token}", "expires_at": session["expires_at"]}


def device_signed_in(token: str, session: asyncpg.Record, user: asyncpg.Record, base: str) -> dict[str, Any]:
    """A device's session: the code exchange's shape, and whose session it is."""
    return logged_in(token, session) | {"user": users.user(user, base)}


def device_started(started: DeviceStarted, public_url: str) -> dict[str, Any]:
    """RFC 8628's device authorization response; the page to approve it is the UI's."""
    user_code = format_user_code(started.user_code)
    page = f"{public_url.rstrip('/')}/ui/device"
    return {
        "device_code": started.device_code,
        "user_code": user_code,
        "verification_uri": page,
        "verification_uri_complete": f"{page}?{urlencode({'user_code': user_code})}",
        "expires_in": started.expires_in,
        "interval": started.interval,
    }


def device_pending(row: asyncpg.Record, user_code: str) -> dict[str, Any]:
    """A pending device sign-in as the approval page shows it."""
    return {"user_code": user_code, "client_name": row["client_name"], "expires_at": row["expires_at"]}


def device_error(error: str) -> dict[str, Any]:
    """A poll's refusal, as RFC 8628 words it, with what the device should do."""
    return {"error": error, "error_description": DEVICE_ERRORS[error]}


DEVICE_ERRORS = {
    "authorization_pending": "Not approved yet; poll again after the interval.",
    "slow_down": "Polling too fast; wait five seconds more between polls.",
    "expired_token": "This device code is unknown, used or expired; start the sign-in again.",
    "access_denied": "The sign-in was denied.",
}


def ui_landing(ui_url: str, code: str) -> str:
    """Where the browser lands after login: the UI, with a one-time code in the fragment.

    Never the token, and never in the query: a fragment is not sent to servers, written to
    their logs or passed on in Referer, and the code is worth nothing once the UI used it.
    """
    return f"{ui_url.split('#', 1)[0]}#{urlencode({'code': code})}"


def login_cookie_path(public_url: str) -> str:
    """The login cookie is sent only to the callback, ``<public_url>/sessions``."""
    return urlsplit(public_url).path.rstrip("/") + "/sessions"


def login_cookie_secure(public_url: str) -> bool:
    """Secure whenever browsers reach the Marketplace over https."""
    return urlsplit(public_url).scheme == "https"
