"""OpenID Connect relying party: discovery, the redirect to the IdP, and the callback.

Authorization code flow with PKCE (S256), ``state`` and ``nonce``; the id_token is
verified against the IdP's published keys before any user or session is touched.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from uuid import UUID, uuid4

import aiohttp
import asyncpg
import jwt
import structlog

from hspm.common.db import Conn
from hspm.common.errors import DomainError, NotFound, Unauthorized
from hspm.identity import service, store

log = structlog.get_logger(__name__)

# Well past any login's time to live, so a login in flight is never swept.
LOGIN_RETENTION_SECONDS = 3600
_ALLOWED_ALGS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]
# What the login flow reads from the discovery document.
_DISCOVERY_KEYS = ("authorization_endpoint", "token_endpoint", "jwks_uri")


class IdentityProviderError(DomainError):
    status = 502
    title = "Identity provider error"


class LoginRejected(DomainError):
    status = 400
    title = "Login rejected"


def redirect_uri(public_url: str) -> str:
    """The callback registered at every IdP: the gateway's ``/sessions``."""
    return public_url.rstrip("/") + "/sessions"


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


async def discover(
    pool: asyncpg.Pool, http: aiohttp.ClientSession, idp: asyncpg.Record, refresh_seconds: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The IdP's configuration and keys, refreshed when older than ``refresh_seconds``."""
    fresh = (
        idp["refreshed_at"] and (datetime.now(UTC) - idp["refreshed_at"]).total_seconds() < refresh_seconds
    )
    if fresh and idp["configuration"] and idp["public_keys"]:
        return idp["configuration"], idp["public_keys"]
    config = await _get_json(http, idp["issuer"].rstrip("/") + "/.well-known/openid-configuration")
    if str(config.get("issuer", "")).rstrip("/") != idp["issuer"].rstrip("/"):
        raise IdentityProviderError("The discovery document names a different issuer.")
    missing = [k for k in _DISCOVERY_KEYS if not isinstance(config.get(k), str) or not config[k]]
    if missing:
        raise IdentityProviderError(f"The discovery document lacks {', '.join(missing)}.")
    keys = await _get_json(http, config["jwks_uri"])
    async with pool.acquire() as conn:
        await store.store_discovery(conn, idp["id"], config, keys)
    return config, keys


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


async def begin(
    pool: asyncpg.Pool, http: aiohttp.ClientSession, idp_id: UUID, public_url: str, refresh_seconds: int
) -> str:
    """Record a login in flight and return the IdP authorization URL to redirect to."""
    async with pool.acquire() as conn:
        idp = await store.get_identity_provider(conn, idp_id)
        # Abandoned logins would otherwise pile up; each new one sweeps the stale.
        await store.purge_logins(conn, LOGIN_RETENTION_SECONDS)
    if idp is None or idp["enabled_at"] is None:
        raise NotFound("Identity provider not found or not enabled.")
    config, _ = await discover(pool, http, idp, refresh_seconds)
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier, challenge = _pkce()
    async with pool.acquire() as conn:
        await store.insert_login(conn, state, idp_id, nonce, verifier)
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


async def _exchange(
    http: aiohttp.ClientSession,
    config: dict[str, Any],
    idp: asyncpg.Record,
    code: str,
    verifier: str,
    public_url: str,
) -> dict[str, Any]:
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
    return body


def verify_id_token(token: str, idp: asyncpg.Record, keys: dict[str, Any], nonce: str) -> dict[str, Any]:
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


async def complete(
    pool: asyncpg.Pool,
    http: aiohttp.ClientSession,
    state: str,
    code: str,
    public_url: str,
    settings_ttl: tuple[int, int, int],
) -> tuple[UUID, UUID]:
    """Finish a login: returns (user id, session id) of the new session."""
    login_ttl, refresh_seconds, session_ttl = settings_ttl
    async with pool.acquire() as conn:
        login = await store.take_login(conn, state, login_ttl)
        if login is None:
            raise LoginRejected("This login is unknown, already used or expired; start again.")
        idp = await store.get_identity_provider(conn, login["identity_provider_id"])
    if idp is None or idp["enabled_at"] is None:
        raise Unauthorized("The identity provider is no longer enabled.")
    config, keys = await discover(pool, http, idp, refresh_seconds)
    tokens = await _exchange(http, config, idp, code, login["code_verifier"], public_url)
    if "id_token" not in tokens:
        raise LoginRejected("The identity provider returned no id_token.")
    try:
        claims = verify_id_token(tokens["id_token"], idp, keys, login["nonce"])
    except LoginRejected:
        # Keys may have rotated since discovery: refresh once and try again.
        config, keys = await discover(pool, http, idp, 0)
        claims = verify_id_token(tokens["id_token"], idp, keys, login["nonce"])
    async with pool.acquire() as conn, conn.transaction():
        user_id, identity_id = await _link_identity(conn, idp["id"], claims)
        session = await service.start_session(conn, user_id, identity_id, session_ttl)
    log.info("oidc.login", user_id=str(user_id), identity_provider_id=str(idp["id"]))
    return user_id, session["id"]


def _identity_fields(claims: dict[str, Any]) -> dict[str, Any]:
    iat = claims.get("iat")
    return {
        "iat": datetime.fromtimestamp(iat, UTC) if isinstance(iat, int | float) else None,
        "hd": claims.get("hd"),
        "locale": claims.get("locale"),
        "email": claims.get("email"),
        # Only the claims the Marketplace uses are kept: no tokens, no extra PII.
        "jwt": {k: claims[k] for k in ("iss", "sub", "aud", "name", "email", "roles") if k in claims},
    }


def _user_fields(claims: dict[str, Any]) -> dict[str, Any]:
    name = (
        claims.get("name")
        or " ".join(p for p in (claims.get("given_name"), claims.get("family_name")) if p)
        or claims.get("preferred_username")
        or claims.get("email")
        or "Unnamed user"
    )
    return {
        "name": str(name)[:200],
        "first_name": claims.get("given_name"),
        "last_name": claims.get("family_name"),
        "email": claims.get("email"),
    }


async def _link_identity(conn: Conn, idp_id: UUID, claims: dict[str, Any]) -> tuple[UUID, UUID]:
    """Find the identity by (provider, sub), or create the user and identity."""
    existing = await store.find_identity(conn, idp_id, str(claims["sub"]))
    user_fields = {k: v for k, v in _user_fields(claims).items() if v is not None}
    if existing is not None:
        await service.refresh_user(conn, existing["user_id"], user_fields)
        await store.update_identity(conn, existing["id"], _identity_fields(claims))
        return existing["user_id"], existing["id"]
    user = await service.register_user(conn, uuid4(), user_fields)
    fields = _identity_fields(claims) | {
        "user_id": user["id"],
        "identity_provider_id": idp_id,
        "sub": str(claims["sub"]),
    }
    identity = await store.insert_identity(conn, uuid4(), fields)
    return user["id"], identity["id"]
