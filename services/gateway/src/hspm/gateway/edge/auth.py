"""Bearer tokens: ES256 checks against identity's JWKS, then the session's principal.

Both steps are cached, because they sit on every authenticated request: a verified
token until its ``exp``, a session's principal (with the assertions signed for it, one
per service: each names the service it is for) for ``principal_cache_seconds``.
Invalidation events from identity drop entries on every replica; a fetch that raced an
invalidation is used once but never cached.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import aiohttp
import jwt
import orjson
import structlog

from hspm.common.auth import (
    PRINCIPAL_HEADER,
    TOKEN_AUDIENCE,
    Principal,
    service_principal,
    sign_assertion,
)
from hspm.common.errors import ServiceUnavailable, Unauthorized
from hspm.gateway.config import Settings
from hspm.gateway.forwarding.replicas import Replicas

log = structlog.get_logger(__name__)

ALGORITHMS = ["ES256"]
REQUIRED_CLAIMS = ["exp", "iat", "sub", "sid"]
# Clock skew tolerated between identity's and the gateway's hosts.
LEEWAY_SECONDS = 5
# Tokens are a few hundred bytes; anything far larger is not ours and must not be cached.
MAX_TOKEN_LENGTH = 4096
ASSERTION_TTL = 60.0
# A cached assertion is reused only while a slow upstream still has time to check it.
ASSERTION_MIN_LEFT = 20.0
# Keys are refetched this often even when no unknown kid forces it (key withdrawal).
JWKS_MAX_AGE = 600.0
JWKS_RETRY_SECONDS = 1.0
IDENTITY_TIMEOUT = aiohttp.ClientTimeout(total=5, connect=2)
# Sessions are never un-revoked; remembering one spares identity the lookups.
REVOKED_MEMORY_SECONDS = 86_400.0
MAX_VERIFIED = 20_000
MAX_PRINCIPALS = 20_000
MAX_REVOKED = 100_000


class InvalidToken(Unauthorized, title="Invalid token"):
    """A forged, expired, revoked or malformed bearer token."""


class IdentityUnavailable(ServiceUnavailable):
    """Tokens cannot be checked while identity does not answer."""


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    """The claims the gateway needs from a token whose signature checked out."""

    session_id: str
    user_id: str
    kind: str
    expires_at: float


@dataclass(slots=True)
class SessionPrincipal:
    """A session's principal as identity reported it, and the assertions forwarded for it."""

    principal: Principal
    user_id: str
    fresh_until: float
    # Service name -> (assertion signed for that service, its expiry).
    assertions: dict[str, tuple[str, float]] = field(default_factory=dict)


def bearer_token(authorization: str) -> str:
    """The token of an ``Authorization: Bearer`` header, or ``InvalidToken``."""
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken("Send 'Authorization: Bearer <token>' with a Marketplace token.")
    return token


async def identity_get(
    client: aiohttp.ClientSession, identity: Replicas, path: str, headers: dict[str, str]
) -> tuple[int, bytes]:
    """GET ``path`` from identity: its replicas in turn, passing over one that cannot be
    reached (nothing was sent to it); the status and body of the first that answers."""
    replicas = list(identity.in_turn())
    for replica in replicas[:-1]:
        try:
            return await _get(client, replica.base + path, headers)
        except aiohttp.ClientConnectorError:
            log.warning("gateway.replica_unreachable", base=replica.base)
    return await _get(client, replicas[-1].base + path, headers)


async def _get(client: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> tuple[int, bytes]:
    async with client.get(url, headers=headers, timeout=IDENTITY_TIMEOUT) as resp:
        return resp.status, await resp.read()


class KeySet:
    """Identity's signing keys, fetched with the shared client and refetched sparingly."""

    def __init__(self, client: aiohttp.ClientSession, identity: Replicas | None, refetch: float) -> None:
        self._client = client
        self._identity = identity
        self._refetch = refetch
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = -math.inf
        self._last_failed = False
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> jwt.PyJWK:
        """The key with id ``kid``; an unknown kid refetches at most once per interval."""
        key = self._keys.get(kid)
        if key is not None and self._age() < JWKS_MAX_AGE:
            return key
        if self._age() >= self._refetch:
            async with self._lock:
                # Another request may have refreshed the keys while this one waited.
                if self._age() >= self._refetch:
                    await self._refresh(keep_old=key is not None)
            key = self._keys.get(kid)
        if key is not None:
            return key
        if self._last_failed:
            raise IdentityUnavailable("The identity service is not available.")
        raise InvalidToken("The token is signed with an unknown key.")

    def _age(self) -> float:
        return time.monotonic() - self._fetched_at

    async def _refresh(self, keep_old: bool) -> None:
        if self._identity is None:
            raise IdentityUnavailable("The identity service is not available.")
        try:
            status, body = await identity_get(
                self._client, self._identity, "/.well-known/jwks.json", {"Accept": "application/json"}
            )
            if status != 200:
                raise ValueError(f"identity answered {status}")
            keys = jwt.PyJWKSet.from_dict(orjson.loads(body)).keys
        except (aiohttp.ClientError, TimeoutError, ValueError, AttributeError, jwt.PyJWTError) as exc:
            log.warning("gateway.jwks_fetch_failed", error=repr(exc))
            self._last_failed = True
            # Retry soon, not on every request.
            self._fetched_at = time.monotonic() - self._refetch + JWKS_RETRY_SECONDS
            if keep_old:
                return
            raise IdentityUnavailable("The identity service is not available.") from exc
        self._keys = {k.key_id: k for k in keys if k.key_id}
        self._fetched_at = time.monotonic()
        self._last_failed = False
        log.info("gateway.jwks_loaded", kids=sorted(self._keys))


class Authenticator:
    """Token verification, principal resolution and their caches, for one replica."""

    def __init__(self, settings: Settings, client: aiohttp.ClientSession, identity: Replicas | None) -> None:
        self._client = client
        # Identity's replicas (the app's own), taken in turn for keys and sessions like any
        # proxied request.
        self._identity = identity
        self._issuer = settings.token_issuer
        self._secret = settings.internal_secret.get_secret_value()
        self._principal_ttl = settings.principal_cache_seconds
        self.keys = KeySet(client, self._identity, settings.jwks_refetch_seconds)
        self._verified: OrderedDict[str, VerifiedToken] = OrderedDict()
        self._principals: OrderedDict[str, SessionPrincipal] = OrderedDict()
        self._revoked: OrderedDict[str, float] = OrderedDict()
        self._inflight: dict[str, asyncio.Task[SessionPrincipal]] = {}
        # Bumped by every access change, so a fetch that straddles one is not cached.
        self._generation = 0
        self._gateway = SessionPrincipal(service_principal("gateway"), "", math.inf)

    # -- tokens ---------------------------------------------------------------------

    def peek(self, token: str) -> VerifiedToken | None:
        """A token already verified and still good, without any I/O (for rate limits)."""
        hit = self._verified.get(token)
        if hit is None or hit.expires_at <= time.time() or self.is_revoked(hit.session_id):
            return None
        return hit

    async def verify(self, token: str) -> VerifiedToken:
        """Check signature, issuer, audience and lifetime once per token, then remember it."""
        hit = self._verified.get(token)
        if hit is not None and hit.expires_at > time.time():
            self._verified.move_to_end(token)
            verified = hit
        else:
            self._verified.pop(token, None)
            verified = await self._verify_signature(token)
            self._remember(token, verified)
        if self.is_revoked(verified.session_id):
            raise InvalidToken("The session has been revoked.")
        return verified

    async def _verify_signature(self, token: str) -> VerifiedToken:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as exc:
            raise InvalidToken("The token is malformed.") from exc
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("The token names no signing key.")
        key = await self.keys.key(kid)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=TOKEN_AUDIENCE,
                issuer=self._issuer,
                options={"require": REQUIRED_CLAIMS},
                leeway=LEEWAY_SECONDS,
            )
            return VerifiedToken(
                session_id=str(UUID(str(claims["sid"]))),
                user_id=str(UUID(str(claims["sub"]))),
                kind=str(claims.get("kind", "session")),
                expires_at=float(claims["exp"]),
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("The token has expired.") from exc
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise InvalidToken("The token is not valid for this Marketplace.") from exc

    def _remember(self, token: str, verified: VerifiedToken) -> None:
        self._verified[token] = verified
        if len(self._verified) > MAX_VERIFIED:
            self._verified.popitem(last=False)

    # -- principals -----------------------------------------------------------------

    async def principal(self, token: VerifiedToken) -> SessionPrincipal:
        """The session's principal and assertion, from cache or from identity."""
        sid = token.session_id
        entry = self._principals.get(sid)
        if entry is None or entry.fresh_until <= time.monotonic():
            entry = await self._coalesced_fetch(token)
        else:
            self._principals.move_to_end(sid)
        if self.is_revoked(sid):
            raise InvalidToken("The session has been revoked.")
        return entry

    def assertion(self, entry: SessionPrincipal, service: str) -> str:
        """The principal assertion for ``service`` (its audience), reused while it has time left."""
        signed = entry.assertions.get(service)
        if signed is None or signed[1] - time.time() < ASSERTION_MIN_LEFT:
            expires = time.time() + ASSERTION_TTL
            signed = (sign_assertion(entry.principal, self._secret, ASSERTION_TTL, audience=service), expires)
            entry.assertions[service] = signed
        return signed[0]

    async def _coalesced_fetch(self, token: VerifiedToken) -> SessionPrincipal:
        # Concurrent first requests of one session share a single identity lookup.
        task = self._inflight.get(token.session_id)
        if task is None:
            task = asyncio.create_task(self._fetch(token))
            self._inflight[token.session_id] = task
            task.add_done_callback(self._fetch_done(token.session_id))
        return await asyncio.shield(task)

    def _fetch_done(self, sid: str) -> Callable[[asyncio.Task[SessionPrincipal]], None]:
        def done(task: asyncio.Task[SessionPrincipal]) -> None:
            self._inflight.pop(sid, None)
            if not task.cancelled():
                task.exception()  # retrieved here so an abandoned failure is not logged

        return done

    async def _fetch(self, token: VerifiedToken) -> SessionPrincipal:
        generation = self._generation
        data = await self._lookup_session(token)
        try:
            principal = Principal(
                kind="user",
                user_id=UUID(str(data["user_id"])),
                session_id=UUID(str(data["session_id"])),
                name=str(data.get("name") or ""),
                permissions=frozenset(str(p) for p in data.get("permissions") or ()),
                scopes=None if data.get("scopes") is None else frozenset(str(s) for s in data["scopes"]),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise IdentityUnavailable("The identity service answered unexpectedly.") from exc
        if str(principal.user_id) != token.user_id or str(principal.session_id) != token.session_id:
            raise InvalidToken("The token does not match its session.")
        entry = SessionPrincipal(principal, token.user_id, time.monotonic() + self._principal_ttl)
        if generation == self._generation and not self.is_revoked(token.session_id):
            self._principals[token.session_id] = entry
            self._principals.move_to_end(token.session_id)
            if len(self._principals) > MAX_PRINCIPALS:
                self._principals.popitem(last=False)
        return entry

    async def _lookup_session(self, token: VerifiedToken) -> dict[str, Any]:
        if self._identity is None:
            raise IdentityUnavailable("The identity service is not available.")
        path = f"/internal/sessions/{token.session_id}"
        headers = {PRINCIPAL_HEADER: self.assertion(self._gateway, "identity"), "Accept": "application/json"}
        try:
            status, body = await identity_get(self._client, self._identity, path, headers)
            if status == 404:
                self.revoke(token.session_id, until=token.expires_at)
                raise InvalidToken("The session has ended or was revoked.")
            if status != 200:
                log.warning("gateway.session_lookup_failed", status=status)
                raise IdentityUnavailable("The identity service is not available.")
            data = orjson.loads(body)
        except (aiohttp.ClientError, TimeoutError, orjson.JSONDecodeError) as exc:
            log.warning("gateway.session_lookup_failed", error=repr(exc))
            raise IdentityUnavailable("The identity service is not available.") from exc
        if not isinstance(data, dict):
            raise IdentityUnavailable("The identity service answered unexpectedly.")
        return data

    # -- invalidation ---------------------------------------------------------------

    def is_revoked(self, sid: str) -> bool:
        """True while the session is known to be revoked."""
        until = self._revoked.get(sid)
        if until is None:
            return False
        if until > time.time():
            return True
        del self._revoked[sid]
        return False

    def revoke(self, sid: str, until: float | None = None) -> None:
        """Refuse the session from now on, here, and forget what was cached for it.

        It is remembered until its tokens expire (a day when none is known); after
        that identity's 404 would refuse it again anyway.
        """
        tokens = [t for t, v in self._verified.items() if v.session_id == sid]
        expiries = [self._verified[t].expires_at for t in tokens]
        if until is not None:
            expiries.append(until)
        self._revoked[sid] = max(expiries, default=time.time() + REVOKED_MEMORY_SECONDS)
        self._revoked.move_to_end(sid)
        if len(self._revoked) > MAX_REVOKED:
            self._revoked.popitem(last=False)
        self._principals.pop(sid, None)
        for token in tokens:
            del self._verified[token]

    def access_changed(self, user_ids: Iterable[str]) -> None:
        """Drop cached principals of these users (of everyone when none are named)."""
        self._generation += 1
        wanted = set(user_ids)
        if not wanted:
            self._principals.clear()
            return
        for sid in [s for s, e in self._principals.items() if e.user_id in wanted]:
            del self._principals[sid]

    async def close(self) -> None:
        """Cancel identity lookups still running at shutdown."""
        for task in list(self._inflight.values()):
            task.cancel()
        for task in list(self._inflight.values()):
            with contextlib.suppress(BaseException):
                await task
