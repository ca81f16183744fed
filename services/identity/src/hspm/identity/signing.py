"""Signing the Marketplace's own tokens: ES256 JWTs whose ``sid`` names a revocable session row.

Shared by the areas that hand out tokens (``sessions`` at login, ``tokens`` for API
tokens) and by the JWKS document the gateway verifies them with.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime
from typing import Any
from uuid import UUID

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from hspm.common.auth import TOKEN_AUDIENCE


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _kid(public_key: ec.EllipticCurvePublicKey) -> str:
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return _b64(hashlib.sha256(der).digest())[:16]


def _jwk(public_key: ec.EllipticCurvePublicKey) -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(public_key))
    jwk.update({"kid": _kid(public_key), "use": "sig", "alg": "ES256"})
    return jwk


def generate_private_key_pem() -> str:
    """A fresh P-256 key, for development and tests."""
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _load_public_keys(pems: str) -> list[ec.EllipticCurvePublicKey]:
    keys = []
    for block in pems.split("-----END PUBLIC KEY-----"):
        if "-----BEGIN PUBLIC KEY-----" in block:
            key = serialization.load_pem_public_key((block + "-----END PUBLIC KEY-----").encode())
            if isinstance(key, ec.EllipticCurvePublicKey):
                keys.append(key)
    return keys


class TokenIssuer:
    """Signs tokens with the current key and publishes current plus previous keys."""

    def __init__(self, private_pem: str, issuer: str, previous_public_pems: str = "") -> None:
        key = serialization.load_pem_private_key(private_pem.encode(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ValueError("HSPM_SIGNING_KEY must be an EC P-256 private key (PEM)")
        self._key = key
        self.issuer = issuer.rstrip("/")
        self.kid = _kid(key.public_key())
        public = [key.public_key(), *_load_public_keys(previous_public_pems)]
        self._jwks = {"keys": [_jwk(k) for k in public]}

    def jwks(self) -> dict[str, Any]:
        return self._jwks

    def issue(self, user_id: UUID, session_id: UUID, kind: str, expires_at: datetime) -> str:
        claims = {
            "iss": self.issuer,
            "aud": TOKEN_AUDIENCE,
            "sub": str(user_id),
            "sid": str(session_id),
            "jti": str(session_id),
            "kind": kind,
            "iat": int(datetime.now(expires_at.tzinfo).timestamp()),
            "exp": int(expires_at.timestamp()),
        }
        return jwt.encode(claims, self._key, algorithm="ES256", headers={"kid": self.kid})
