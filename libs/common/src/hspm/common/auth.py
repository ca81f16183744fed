"""Who is calling: bearer-token verification at the edge, principal assertions inside.

The gateway verifies the Marketplace's own ES256 tokens against identity's JWKS,
resolves the session's effective permissions, and forwards them to the owning service
as a short-lived HS256 *principal assertion* in ``X-HSPM-Principal``. Services trust
only that header (signed with ``HSPM_INTERNAL_SECRET``), so a request that bypasses
the gateway is anonymous at best.

Each assertion names the service it is for in ``aud`` (the service's name: ``catalog``,
``curation``...), and a service accepts only assertions naming it: one captured from
the traffic or the logs of one service cannot act on another.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, overload
from uuid import UUID

import jwt

from hspm.common.errors import Forbidden, Unauthorized
from hspm.common.permissions import ALL_KEYS, MANAGE

PRINCIPAL_HEADER = "X-HSPM-Principal"
_ASSERTION_ISSUER = "hspm-gateway"
TOKEN_AUDIENCE = "hspm"

Kind = Literal["anonymous", "user", "service"]


@dataclass(frozen=True)
class Principal:
    """The caller as every service sees it."""

    kind: Kind = "anonymous"
    user_id: UUID | None = None
    session_id: UUID | None = None
    name: str = ""
    permissions: frozenset[str] = field(default_factory=frozenset)
    # An API token's scopes; None for a login session or an unscoped ("*") token. An
    # empty set is a token that grants nothing (never "unscoped").
    scopes: frozenset[str] | None = None

    @property
    def is_anonymous(self) -> bool:
        return self.kind == "anonymous"

    @property
    def is_admin(self) -> bool:
        return MANAGE in self.permissions

    def can(self, resource: str, verb: str) -> bool:
        """Union-of-roles check with the ``everything.manage`` short-circuit."""
        return MANAGE in self.permissions or f"{resource}.{verb}" in self.permissions

    def owns(self, user_id: UUID | None) -> bool:
        """Is this the owner? (Identity, not a right: see ``may_as_owner``.)"""
        return self.user_id is not None and user_id is not None and self.user_id == user_id

    def may_as_owner(self, resource: str, verb: str, owner_id: UUID | None) -> bool:
        """Implicit owner rights, narrowed by a scoped token to the keys it names."""
        if not self.owns(owner_id):
            return False
        return self.scopes is None or f"{resource}.{verb}" in self.scopes

    @property
    def is_scoped(self) -> bool:
        return self.scopes is not None

    def require(self, resource: str, verb: str) -> None:
        """401 for anonymous callers, 403 for users lacking the permission."""
        if self.can(resource, verb):
            return
        if self.is_anonymous:
            raise Unauthorized("You are not authorized, sorry! Sign in first.")
        raise Forbidden(f"You lack the permission {resource}.{verb}.")

    def require_or_owner(self, resource: str, verb: str, owner_id: UUID | None) -> None:
        if not self.may_as_owner(resource, verb, owner_id):
            self.require(resource, verb)


ANONYMOUS = Principal()


def sign_assertion(
    principal: Principal, secret: str, ttl: float = 60.0, *, audience: str | Sequence[str]
) -> str:
    """The header value the service named ``audience`` accepts for ``principal`` during ``ttl`` s.

    The gateway names one service; a sequence (JWT's audience array) is for test helpers.
    """
    if not audience:
        raise ValueError("an assertion names the service it is for")
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": _ASSERTION_ISSUER,
        "aud": audience if isinstance(audience, str) else list(audience),
        "iat": now,
        "exp": now + int(ttl),
        "kind": principal.kind,
        "name": principal.name,
        "perms": sorted(principal.permissions),
    }
    if principal.user_id is not None:
        claims["sub"] = str(principal.user_id)
    if principal.session_id is not None:
        claims["sid"] = str(principal.session_id)
    if principal.scopes is not None:
        claims["scopes"] = sorted(principal.scopes)
    return jwt.encode(claims, secret, algorithm="HS256")


@overload
def verify_assertion(value: str, secret: str, *, audience: str) -> Principal: ...
@overload
def verify_assertion(
    value: str, secret: str, *, audience: str, with_expiry: Literal[True]
) -> tuple[Principal, float]: ...
def verify_assertion(
    value: str, secret: str, *, audience: str, with_expiry: bool = False
) -> Principal | tuple[Principal, float]:
    """Parse a principal assertion for the service ``audience``; forged, stale or meant for
    another service is a 401."""
    if not audience:
        raise ValueError("a service verifies assertions for its own name")
    try:
        claims = jwt.decode(
            value,
            secret,
            algorithms=["HS256"],
            audience=audience,
            issuer=_ASSERTION_ISSUER,
            options={"require": ["exp", "iat", "kind", "aud"]},
        )
    except jwt.PyJWTError as exc:
        raise Unauthorized("Invalid internal principal assertion.") from exc
    kind = claims["kind"]
    if kind not in ("user", "service", "anonymous"):
        raise Unauthorized("Invalid internal principal assertion.")
    try:
        principal = Principal(
            kind=kind,
            user_id=UUID(claims["sub"]) if "sub" in claims else None,
            session_id=UUID(claims["sid"]) if "sid" in claims else None,
            name=str(claims.get("name", "")),
            permissions=frozenset(claims.get("perms", ())) & (ALL_KEYS | {MANAGE}),
            scopes=frozenset(claims["scopes"]) & ALL_KEYS if "scopes" in claims else None,
        )
    except (ValueError, TypeError) as exc:
        raise Unauthorized("Invalid internal principal assertion.") from exc
    return (principal, float(claims["exp"])) if with_expiry else principal


def service_principal(name: str, permissions: Iterable[str] = ()) -> Principal:
    """A machine principal for service-to-service calls (never a user)."""
    return Principal(kind="service", name=name, permissions=frozenset(permissions))
