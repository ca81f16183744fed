"""Ed25519 keys and the challenge an agent signs: pure functions, no database.

The signed message binds the protocol, the platform and the server's nonce, so a
signature is good for one connection to one platform and nothing else.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

CHALLENGE_PREFIX = b"hspm-notifier-auth/1\n"
MAX_KEY_TEXT = 1000


class BadKey(ValueError):
    """Text that is not an Ed25519 public key."""


def _b64(text: str) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    try:
        return base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadKey("is not base64") from exc


def parse_public_key(text: str) -> bytes:
    """The raw 32 bytes from base64 (standard or URL-safe) of them, or a PEM public key."""
    text = text.strip()
    if not text or len(text) > MAX_KEY_TEXT:
        raise BadKey("must be an Ed25519 public key")
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text.encode("ascii"))
        except (ValueError, UnicodeEncodeError) as exc:
            raise BadKey("is not a PEM public key") from exc
        if not isinstance(key, ed25519.Ed25519PublicKey):
            raise BadKey("must be an Ed25519 key")
        return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    raw = _b64(text)
    if len(raw) != 32:
        raise BadKey("must be the 32 bytes of an Ed25519 public key")
    return raw


def fingerprint(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def challenge_message(platform_id: str, nonce: str) -> bytes:
    """What the agent signs: the prefix, the platform id and the nonce, one per line."""
    return CHALLENGE_PREFIX + platform_id.encode("ascii") + b"\n" + nonce.encode("ascii")


def verify(raw_key: bytes, signature_b64: str, message: bytes) -> bool:
    """Constant-time in the key material (cryptography's); any malformed input is False."""
    try:
        signature = _b64(signature_b64)
        ed25519.Ed25519PublicKey.from_public_bytes(raw_key).verify(signature, message)
    except (BadKey, InvalidSignature, ValueError):
        return False
    return True
