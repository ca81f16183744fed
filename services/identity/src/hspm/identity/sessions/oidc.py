"""OpenID Connect relying party, the network and crypto half: discovery, the authorization
URL, the code exchange and the id_token checks. No database here: ``service`` runs the flow.

Authorization code flow with PKCE (S256), ``state`` and ``nonce``; the id_token is
verified against the IdP's published keys before any user or session is touched.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import aiohttp
import asyncpg
import jwt
import structlog

from hspm.common.errors import BadGateway, DomainError

log = structlog.get_logger(__name__)

_ALLOWED_ALGS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]
# What the login flow reads from the discovery document.
_DISCOVERY_KEYS = ("authorization_endpoint", "token_endpoint", "jwks_uri")

# A provider row, or anything with the same keys (tests pass dicts).
Provider = asyncpg.Record | Mapping[str, Any]


class IdentityProviderError(BadGateway, title="Identity provider error"):
    """The identity provider could not be reached or answered with something unusable."""


class LoginRejected(DomainError, status=400, title="Login rejected"):
    """The login's state, code or ID token does not check out."""


def redirect_uri(public_url: str) -> str:
    """The callback registered at every IdP: the gateway's ``/sessions``."""
    return public_url.rstrip("/") + "/sessions"


def is_fresh(idp: Provider, refresh_seconds: int) -> bool:
    """Whether the cached discovery document and keys may be used as they are."""
    refreshed = idp["refreshed_at"]
    recent = refreshed is not None and (datetime.now(UTC) - refreshed).total_seconds() < refresh_seconds
    return bool(recent and idp["configuration"] and idp["public_keys"])


async def _get_json(http: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    try:
        async with http.get(url, timeout=aiohttp.ClientTimeout(total=10)) as resp:
            if resp.status != 200:
                raise IdentityProviderError(f"{url} answered {resp.status}.")
            data = await resp.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise IdentityProviderError(f"Could not reach {url}.") from exc
    except ValueError as exc:  # the body was not JSON (an HTML error page, say)
        raise IdentityProviderError(f"{url} did not return JSON.") from exc
    if not isinstance(data, dict):
        raise IdentityProviderError(f"{url} did not return a JSON object.")
    return data


async def discover(http: aiohttp.ClientSession, issuer: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The IdP's discovery document and its keys, fetched and checked."""
    config = await _get_json(http, issuer.rstrip("/") + "/.well-known/openid-configuration")
    if str(config.get("issuer", "")).rstrip("/") != issuer.rstrip("/"):
        raise IdentityProviderError("The discovery document names a different issuer.")
    missing = [k for k in _DISCOVERY_KEYS if not isinstance(config.get(k), str) or not config[k]]
    if missing:
        raise IdentityProviderError(f"The discovery document lacks {', '.join(missing)}.")
    return config, await _get_json(http, config["jwks_uri"])


def one_time_secret() -> str:
    """A login cookie's value or a hand-over code: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def digest(value: str) -> bytes:
    """What is stored of a login cookie or a hand-over code: never the value itself."""
    return hashlib.sha256(value.encode()).digest()


def new_login() -> tuple[str, str, str, str]:
    """A login's ``state``, ``nonce``, PKCE verifier and its S256 challenge."""
    state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return state, nonce, verifier, challenge


def authorization_url(
    config: dict[str, Any], idp: Provider, public_url: str, state: str, nonce: str, challenge: str
) -> str:
    """Where to send the browser to log in at the IdP."""
    query = {
        "response_type": "code",
        "client_id": idp["client_id"],
        "redirect_uri": redirect_uri(public_url),
        "scope": idp["scopes"],
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return f"{config['authorization_endpoint']}?{urlencode(query)}"


async def exchange(
    http: aiohttp.ClientSession,
    config: dict[str, Any],
    idp: Provider,
    code: str,
    verifier: str,
    public_url: str,
) -> str:
    """Trade the authorization code (and the PKCE verifier) for the IdP's id_token."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri(public_url),
        "client_id": idp["client_id"],
        "client_secret": idp["client_secret"],
        "code_verifier": verifier,
    }
    try:
        async with http.post(
            config["token_endpoint"], data=form, timeout=aiohttp.ClientTimeout(total=10)
        ) as resp:
            body = await resp.json(content_type=None)
            if resp.status != 200 or not isinstance(body, dict):
                log.warning("oidc.token_exchange_failed", status=resp.status)
                raise LoginRejected("The identity provider refused the authorization code.")
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise IdentityProviderError("Could not reach the identity provider's token endpoint.") from exc
    except ValueError as exc:  # the body was not JSON (an HTML error page, say)
        log.warning("oidc.token_exchange_failed", error="not json")
        raise IdentityProviderError("The identity provider's token endpoint did not return JSON.") from exc
    if "id_token" not in body:
        raise LoginRejected("The identity provider returned no id_token.")
    return str(body["id_token"])


def verify_id_token(token: str, idp: Provider, keys: dict[str, Any], nonce: str) -> dict[str, Any]:
    """Signature, issuer, audience, expiry, nonce and authorized party of an id_token."""
    try:
        header = jwt.get_unverified_header(token)
        jwks = jwt.PyJWKSet.from_dict(keys)
        key = next((k for k in jwks.keys if k.key_id == header.get("kid")), None)
        if key is None:
            raise LoginRejected("The id_token was signed with an unknown key.")
        audiences = [idp["client_id"]] + ([idp["alternate_client_id"]] if idp["alternate_client_id"] else [])
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=_ALLOWED_ALGS,
            audience=audiences,
            issuer=idp["issuer"],
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            leeway=30,
        )
    except jwt.PyJWTError as exc:
        raise LoginRejected(f"The id_token is not valid: {exc}.") from exc
    if not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
        raise LoginRejected("The id_token's nonce does not match this login.")
    azp = claims.get("azp")
    if azp is not None and azp not in audiences:
        raise LoginRejected("The id_token was issued to another client.")
    return claims


def identity_fields(claims: dict[str, Any]) -> dict[str, Any]:
    """What an identity keeps of the id_token's claims."""
    iat = claims.get("iat")
    return {
        "iat": datetime.fromtimestamp(iat, UTC) if isinstance(iat, int | float) else None,
        "hd": claims.get("hd"),
        "locale": claims.get("locale"),
        "email": claims.get("email"),
        # Only the claims the Marketplace uses are kept: no tokens, no extra PII.
        "jwt": {k: claims[k] for k in ("iss", "sub", "aud", "name", "email", "roles") if k in claims},
    }


def user_fields(claims: dict[str, Any]) -> dict[str, Any]:
    """The user's names from the id_token's claims (only those it has)."""
    name = (
        claims.get("name")
        or " ".join(p for p in (claims.get("given_name"), claims.get("family_name")) if p)
        or claims.get("preferred_username")
        or claims.get("email")
        or "Unnamed user"
    )
    fields = {
        "name": str(name)[:200],
        "first_name": claims.get("given_name"),
        "last_name": claims.get("family_name"),
        "email": claims.get("email"),
    }
    return {k: v for k, v in fields.items() if v is not None}
