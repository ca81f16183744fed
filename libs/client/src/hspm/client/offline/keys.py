"""Ed25519 public keys as JWKs (RFC 8037), named by their RFC 7638 thumbprints."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hspm.client.canonical import canonical
from hspm.client.offline.errors import BadKeySet

# A published set holds the current key and the few retired ones still verifying.
MAX_KEYS = 64
_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def from_b64url(text: str) -> bytes:
    """Strict base64url without padding; ValueError on anything else."""
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:
        raise ValueError("not unpadded base64url") from exc


def _x(public_key: Ed25519PublicKey) -> str:
    return b64url(public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def thumbprint(public_key: Ed25519PublicKey) -> str:
    """RFC 7638: SHA-256 of the required members (crv, kty, x) as canonical JSON, base64url."""
    members = {"crv": "Ed25519", "kty": "OKP", "x": _x(public_key)}
    return b64url(hashlib.sha256(canonical(members)).digest())


def kid_of(private_key: Ed25519PrivateKey) -> str:
    """The key id documents signed with ``private_key`` name."""
    return thumbprint(private_key.public_key())


def jwk(public_key: Ed25519PublicKey) -> dict[str, str]:
    """The public JWK, ``kid`` its thumbprint."""
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": _x(public_key),
        "kid": thumbprint(public_key),
        "use": "sig",
        "alg": "EdDSA",
    }


class KeySet(Mapping[str, Ed25519PublicKey]):
    """The public keys a verifier trusts, by ``kid``; read-only."""

    def __init__(self, keys: Iterable[Ed25519PublicKey] = ()) -> None:
        self._keys = {thumbprint(k): k for k in keys}

    def __getitem__(self, kid: str) -> Ed25519PublicKey:
        return self._keys[kid]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    @classmethod
    def from_jwks(cls, jwks: Mapping[str, Any]) -> KeySet:
        """The Ed25519 signing keys of a JWK set (``{"keys": [...]}``); others are skipped.

        An Ed25519 key whose ``x`` is not 32 bytes, or whose ``kid`` is not its thumbprint,
        makes the whole set unusable (BadKeySet): a verifier must not guess which key is meant.
        """
        entries = jwks.get("keys") if isinstance(jwks, Mapping) else None
        if not isinstance(entries, list) or len(entries) > MAX_KEYS:
            raise BadKeySet(f"a JWK set is an object whose 'keys' is a list of at most {MAX_KEYS}")
        return cls(_public_key(e) for e in entries if _is_ed25519(e))

    @classmethod
    def from_pems(cls, *pems: bytes | str) -> KeySet:
        """Keys from PEM ``PUBLIC KEY`` blocks, one per argument."""
        keys = []
        for pem in pems:
            key = serialization.load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
            if not isinstance(key, Ed25519PublicKey):
                raise BadKeySet("only Ed25519 public keys sign license documents")
            keys.append(key)
        return cls(keys)

    def to_jwks(self) -> dict[str, list[dict[str, str]]]:
        """The set as a JWK set, in the order the keys were given."""
        return {"keys": [jwk(k) for k in self._keys.values()]}


def _is_ed25519(entry: Any) -> bool:
    return (
        isinstance(entry, Mapping)
        and entry.get("kty") == "OKP"
        and entry.get("crv") == "Ed25519"
        and entry.get("use", "sig") == "sig"
    )


def _public_key(entry: Mapping[str, Any]) -> Ed25519PublicKey:
    x, kid = entry.get("x"), entry.get("kid")
    if not isinstance(x, str) or not isinstance(kid, str):
        raise BadKeySet("an Ed25519 JWK needs string 'x' and 'kid'")
    try:
        raw = from_b64url(x)
    except ValueError as exc:
        raise BadKeySet(f"key {kid!r}: 'x' is not base64url") from exc
    if len(raw) != 32:
        raise BadKeySet(f"key {kid!r}: 'x' must be 32 bytes")
    key = Ed25519PublicKey.from_public_bytes(raw)
    if thumbprint(key) != kid:
        raise BadKeySet(f"key {kid!r}: 'kid' is not the key's RFC 7638 thumbprint")
    return key
