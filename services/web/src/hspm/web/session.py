"""The browser's session: an encrypted, HttpOnly cookie and the CSRF token bound to it.

The cookie holds the Marketplace session token encrypted with AES-GCM (the key never leaves
the web service), so any replica can read it and JavaScript cannot. Each cookie carries a
random session id; a form's CSRF token is an HMAC of that id, so a page of another site can
neither read it nor forge it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

COOKIE = "hspm_web"
_AAD = b"hspm-web session v1"
_NONCE = 12
# A cookie larger than this was not made here; refuse it before decrypting anything.
MAX_COOKIE_CHARS = 4096


@dataclass(frozen=True)
class Session:
    """What one browser's cookie says: who (the token, if signed in) and until when."""

    sid: str
    expires: int
    token: str | None = None
    name: str | None = None
    user_id: str | None = None
    # What the navigation offers (``isv``, ``operator``, ``reports``, ``admin``): a hint
    # for links only; the API decides every request on its own.
    roles: tuple[str, ...] = ()

    @property
    def signed_in(self) -> bool:
        return self.token is not None

    def signed_out(self, ttl: int) -> Session:
        return Session(sid=secrets.token_urlsafe(16), expires=_now() + ttl)


def _now() -> int:
    return int(time.time())


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)


class SessionBox:
    """Seals and opens session cookies and makes and checks CSRF tokens."""

    def __init__(self, secret: bytes, ttl: int) -> None:
        self._aead = AESGCM(_derive(secret, b"hspm-web cookie"))
        self._csrf = _derive(secret, b"hspm-web csrf")
        self.ttl = ttl

    def new(self) -> Session:
        return Session(sid=secrets.token_urlsafe(16), expires=_now() + self.ttl)

    def signed_in(self, token: str, status: dict[str, object], expires: int) -> Session:
        """A fresh session id at sign-in, so a CSRF token seen before it is worth nothing."""
        identity = status.get("identity")
        user = identity.get("user") if isinstance(identity, dict) else None
        name = str(user.get("name")) if isinstance(user, dict) else None
        user_id = str(identity.get("user_id")) if isinstance(identity, dict) else None
        permissions = status.get("permissions")
        return Session(
            sid=secrets.token_urlsafe(16),
            expires=min(expires, _now() + self.ttl),
            token=token,
            name=name,
            user_id=user_id,
            roles=roles_of(permissions if isinstance(permissions, dict) else {}),
        )

    def seal(self, session: Session) -> str:
        nonce = secrets.token_bytes(_NONCE)
        doc = {
            "s": session.sid,
            "e": session.expires,
            "t": session.token,
            "n": session.name,
            "u": session.user_id,
            "r": list(session.roles),
        }
        sealed = self._aead.encrypt(nonce, orjson.dumps(doc), _AAD)
        return base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")

    def open(self, value: str | None) -> Session | None:
        """The session in ``value``; None for anything forged, tampered, expired or malformed."""
        if not value or len(value) > MAX_COOKIE_CHARS:
            return None
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            doc = orjson.loads(self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], _AAD))
            session = Session(
                sid=str(doc["s"]),
                expires=int(doc["e"]),
                token=doc["t"],
                name=doc["n"],
                user_id=doc["u"],
                roles=tuple(str(r) for r in doc["r"]),
            )
        except (InvalidTag, ValueError, binascii.Error, KeyError, TypeError, orjson.JSONDecodeError):
            return None
        return session if session.expires > _now() else None

    def csrf_token(self, session: Session) -> str:
        return hmac.new(self._csrf, session.sid.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, session: Session, offered: str | None) -> bool:
        return offered is not None and hmac.compare_digest(self.csrf_token(session), offered)


# Which permission makes which part of the navigation worth showing.
ROLE_PERMISSIONS = {
    "isv": ("products", "create"),
    "operator": ("reviews", "update"),
    "reports": ("attempts", "read"),
    "admin": ("roles", "update"),
}


def roles_of(permissions: dict[str, object]) -> tuple[str, ...]:
    """The navigation's roles from ``GET /status``'s permission table."""
    found = []
    for role, (resource, action) in ROLE_PERMISSIONS.items():
        actions = permissions.get(resource)
        if isinstance(actions, dict) and actions.get(action) is True:
            found.append(role)
    return tuple(found)
