"""The license signing key and the public keys verifiers trust, read once when the app is built.

A key that does not parse stops the service before it serves anything (``SigningKeyError``
names the setting, never the key). No signing key is allowed: the service then publishes
its retired keys and answers 503 to document requests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hspm.client.offline import KeySet, kid_of
from hspm.licensing.config import Settings

_PUBLIC_PEM = re.compile(r"-----BEGIN PUBLIC KEY-----.*?-----END PUBLIC KEY-----", re.DOTALL)


class SigningKeyError(ValueError):
    """A license key setting that cannot be used; the service must not start with it."""


@dataclass(frozen=True)
class SigningKeys:
    """The current private key (None: signing is off), its kid, and every public key to publish."""

    private_key: Ed25519PrivateKey | None
    kid: str | None
    public: KeySet

    def jwks(self) -> dict[str, Any]:
        return dict(self.public.to_jwks())


signing_keys_key = web.AppKey("licensing_signing_keys", SigningKeys)


def install(app: web.Application, settings: Settings) -> None:
    """Read the keys into ``app[signing_keys_key]``; raises SigningKeyError on a bad setting."""
    app[signing_keys_key] = load(settings)


def load(settings: Settings) -> SigningKeys:
    private = _private_key(settings.license_signing_key.get_secret_value())
    retired = _public_keys(settings.license_retired_public_keys)
    current = [private.public_key()] if private is not None else []
    return SigningKeys(
        private_key=private,
        kid=kid_of(private) if private is not None else None,
        public=KeySet([*current, *retired]),
    )


def _private_key(pem: str) -> Ed25519PrivateKey | None:
    if not pem.strip():
        return None
    try:
        key = serialization.load_pem_private_key(pem.strip().encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        # The library's message names the problem, not the key's bytes.
        raise SigningKeyError(
            f"HSPM_LICENSE_SIGNING_KEY is not an unencrypted PEM private key: {exc}"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError("HSPM_LICENSE_SIGNING_KEY must be an Ed25519 private key (PKCS#8 PEM)")
    return key


def _public_keys(pems: str) -> list[Ed25519PublicKey]:
    blocks = _PUBLIC_PEM.findall(pems)
    if _PUBLIC_PEM.sub("", pems).strip():
        raise SigningKeyError("HSPM_LICENSE_RETIRED_PUBLIC_KEYS must hold only PEM 'PUBLIC KEY' blocks")
    keys = []
    for n, block in enumerate(blocks, 1):
        try:
            key = serialization.load_pem_public_key(block.encode())
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise SigningKeyError(
                f"HSPM_LICENSE_RETIRED_PUBLIC_KEYS: key {n} does not parse: {exc}"
            ) from None
        if not isinstance(key, Ed25519PublicKey):
            raise SigningKeyError(f"HSPM_LICENSE_RETIRED_PUBLIC_KEYS: key {n} is not an Ed25519 key")
        keys.append(key)
    return keys
