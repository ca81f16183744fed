"""Signing and verifying a license document (the format is described in ``hspm.client.offline``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hspm.client.canonical import CanonicalError, canonical
from hspm.client.offline import bounds
from hspm.client.offline.errors import BadSignature, Malformed, UnknownKey
from hspm.client.offline.keys import KeySet, b64url, from_b64url, kid_of
from hspm.client.offline.license import FORMAT, License

ALG = "EdDSA"
# One signature today; a few leave room to countersign during a key rotation.
MAX_SIGNATURES = 4
_KID = re.compile(r"[A-Za-z0-9_-]{1,128}")


def sign(
    payload: Mapping[str, Any], private_key: Ed25519PrivateKey, kid: str | None = None
) -> dict[str, Any]:
    """A document: ``payload`` (with its ``format`` and ``kid`` set) and its Ed25519 signature.

    ``kid`` defaults to the key's thumbprint; tests pass another to forge documents.
    """
    kid = kid_of(private_key) if kid is None else kid
    if payload.get("kid", kid) != kid:
        raise ValueError("payload.kid names another key than the one signing it")
    signed = {**payload, "format": FORMAT, "kid": kid}
    sig = private_key.sign(canonical(signed))
    return {"format": FORMAT, "payload": signed, "signatures": [{"kid": kid, "alg": ALG, "sig": b64url(sig)}]}


def verify(document: bytes | str | Mapping[str, Any], keys: KeySet, now: datetime | None = None) -> License:
    """The License ``document`` grants, or the LicenseError that says why it grants nothing.

    Order: bounds and shape (Malformed, TooLarge), the signing key (UnknownKey), the
    signature over the payload's canonical bytes (BadSignature), the payload's members
    (Malformed), then the validity window at ``now`` (NotYetValid, Expired).
    """
    now = datetime.now(UTC) if now is None else now
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    doc = _read(document)
    payload, signatures = _envelope(doc)
    _check_signature(payload, signatures, keys)
    found = License.from_payload(payload)
    found.check_window(now)
    return found


def _read(document: bytes | str | Mapping[str, Any]) -> Any:
    if isinstance(document, Mapping):
        bounds.check_value(document)
        return document
    if isinstance(document, bytes | bytearray | memoryview | str):
        return bounds.parse(document if isinstance(document, str) else bytes(document))
    raise Malformed(f"a license document is JSON text or a parsed object, not {type(document).__name__}")


def _envelope(doc: Any) -> tuple[Mapping[str, Any], list[tuple[str, bytes]]]:
    if not isinstance(doc, Mapping):
        raise Malformed("a license document is a JSON object")
    if doc.get("format") != FORMAT:
        raise Malformed(f"format must be {FORMAT!r}")
    payload, entries = doc.get("payload"), doc.get("signatures")
    if not isinstance(payload, Mapping):
        raise Malformed("payload must be an object")
    if not isinstance(entries, list) or not 1 <= len(entries) <= MAX_SIGNATURES:
        raise Malformed(f"signatures must be a list of 1 to {MAX_SIGNATURES} signatures")
    return payload, [_signature(e) for e in entries]


def _signature(entry: Any) -> tuple[str, bytes]:
    if not isinstance(entry, Mapping):
        raise Malformed("a signature is an object")
    kid, alg, sig = entry.get("kid"), entry.get("alg"), entry.get("sig")
    if not isinstance(kid, str) or not _KID.fullmatch(kid):
        raise Malformed("signature kid must be 1 to 128 base64url characters")
    if alg != ALG:
        raise Malformed(f"signature alg must be {ALG!r}")
    try:
        raw = from_b64url(sig) if isinstance(sig, str) and len(sig) <= 100 else b""
    except ValueError:
        raw = b""
    if len(raw) != 64:
        raise Malformed("signature sig must be 64 bytes in base64url")
    return kid, raw


def _check_signature(payload: Mapping[str, Any], signatures: list[tuple[str, bytes]], keys: KeySet) -> None:
    # The key is the one the signed payload names, so a signature cannot be swapped for
    # another key's (or dropped for a weaker one) without breaking the payload's own.
    kid = payload.get("kid")
    if not isinstance(kid, str) or not _KID.fullmatch(kid):
        raise Malformed("payload.kid must be 1 to 128 base64url characters")
    key = keys.get(kid)
    if key is None:
        raise UnknownKey(f"signed by key {kid!r}, which the key set does not hold")
    try:
        message = canonical(payload)
    except CanonicalError as exc:
        raise Malformed(f"payload has no canonical JSON form: {exc}") from exc
    for sig_kid, sig in signatures:
        if sig_kid != kid:
            continue
        try:
            key.verify(sig, message)
            return
        except InvalidSignature:
            pass
    raise BadSignature(f"no signature by key {kid!r} verifies this payload")
