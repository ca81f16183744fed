"""Offline license documents: signed by the marketplace, verified with no network.

An agent or a product fetches a document once (``GET /entitlements/{id}/license``), keeps
it, and verifies it locally against the marketplace's public keys
(``GET /.well-known/hspm-license-keys``, cached)::

    keys = KeySet.from_jwks(jwks)
    grant = verify(document_bytes, keys)      # raises a LicenseError subclass
    if grant.covers(product_id): ...

The document (format ``hspm-license/1``) is a JSON object::

    {
      "format": "hspm-license/1",
      "payload": {
        "format": "hspm-license/1",
        "id": "<uuid of this document>",
        "issuer": "https://marketplace.example",
        "kid": "<key id: RFC 7638 thumbprint of the signing key>",
        "entitlement_id": "<uuid>",
        "licensee": {"user_id": "<uuid>", "name": "<text> | null"},
        "product": {"id": "<uuid>", "name": "<text> | null"},
        "covers": ["<uuid of every product the document licenses; includes product.id>"],
        "license": {"id": "<uuid>", "name": "<text>",
                    "expiry": "indefinite | relative_date | absolute_date",
                    "uses": <limit of online checks, 0 for none>},
        "valid_from": "<RFC 3339 UTC, ending in Z>",
        "valid_until": "<the entitlement's own end> | null",
        "issued_at": "<when the marketplace signed it>",
        "expires_at": "<when this document stops: min(valid_until, issue + N days)>"
      },
      "signatures": [{"kid": "<as payload.kid>", "alg": "EdDSA", "sig": "<base64url, no padding>"}]
    }

Each signature is Ed25519 (RFC 8032) over the RFC 8785 canonical UTF-8 bytes of
``payload`` (``hspm.client.canonical``), so whitespace and member order in the file do not
matter. The signature that counts is the one by the key ``payload.kid`` names, which the
key set must hold. The document is valid in ``[valid_from, expires_at)``; after that the
holder fetches a fresh one. Members a verifier does not know are ignored; a change old
verifiers must not miss changes ``format``.

Before any cryptography the verifier refuses documents over 64 KiB
(``MAX_DOCUMENT_BYTES``), nesting deeper than ``MAX_DEPTH``, duplicate member names and
NaN/Infinity. Revocation is not in the document: an online holder asks
``GET /entitlements/{id}/license/status``; an offline one learns it when its document
expires and no fresh one is issued.

Key rotation: the marketplace publishes its current key and every retired key whose
documents may still be valid, so documents keep verifying until they expire.
"""

from hspm.client.offline.bounds import MAX_DEPTH, MAX_DOCUMENT_BYTES
from hspm.client.offline.document import ALG, sign, verify
from hspm.client.offline.errors import (
    BadKeySet,
    BadSignature,
    Expired,
    LicenseError,
    Malformed,
    NotYetValid,
    TooLarge,
    UnknownKey,
)
from hspm.client.offline.keys import KeySet, jwk, kid_of, thumbprint
from hspm.client.offline.license import FORMAT, License

__all__ = [
    "ALG",
    "FORMAT",
    "MAX_DEPTH",
    "MAX_DOCUMENT_BYTES",
    "BadKeySet",
    "BadSignature",
    "Expired",
    "KeySet",
    "License",
    "LicenseError",
    "Malformed",
    "NotYetValid",
    "TooLarge",
    "UnknownKey",
    "jwk",
    "kid_of",
    "sign",
    "verify",
    "thumbprint",
]
