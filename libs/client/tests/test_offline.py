"""Offline license documents: what verifies, and every way a document is refused, by class."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hspm.client import offline
from hspm.client.canonical import canonical
from hspm.client.offline import (
    BadKeySet,
    BadSignature,
    Expired,
    KeySet,
    License,
    LicenseError,
    Malformed,
    NotYetValid,
    TooLarge,
    UnknownKey,
    sign,
    verify,
)
from hspm.client.offline.keys import from_b64url

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
KEY = Ed25519PrivateKey.generate()
KEYS = KeySet([KEY.public_key()])


def grant(key: Ed25519PrivateKey = KEY, **changes: Any) -> License:
    product = uuid4()
    values: dict[str, Any] = {
        "id": uuid4(),
        "issuer": "https://marketplace.test",
        "kid": offline.kid_of(key),
        "entitlement_id": uuid4(),
        "licensee_id": uuid4(),
        "licensee_name": "Carla Customer",
        "product_id": product,
        "product_name": "Radiology viewer",
        "products": (product,),
        "license_id": uuid4(),
        "license_name": "Annual",
        "expiry": "relative_date",
        "uses": 0,
        "valid_from": NOW - timedelta(days=10),
        "valid_until": NOW + timedelta(days=355),
        "issued_at": NOW - timedelta(hours=1),
        "expires_at": NOW + timedelta(days=29),
    }
    return License(**(values | changes))


def signed(key: Ed25519PrivateKey = KEY, **changes: Any) -> bytes:
    return json.dumps(sign(grant(key, **changes).to_payload(), key)).encode()


def test_a_signed_document_verifies_to_what_was_signed() -> None:
    lic = grant()
    doc = sign(lic.to_payload(), KEY)
    for form in (doc, json.dumps(doc), json.dumps(doc).encode()):
        assert verify(form, KEYS, NOW) == lic
    assert doc["signatures"][0]["alg"] == "EdDSA"
    assert doc["format"] == doc["payload"]["format"] == "hspm-license/1"


def test_key_order_and_spacing_do_not_change_the_canonical_bytes_or_the_verdict() -> None:
    doc = sign(grant().to_payload(), KEY)
    shuffled = {k: doc[k] for k in reversed(list(doc))}
    shuffled["payload"] = {k: doc["payload"][k] for k in sorted(doc["payload"], reverse=True)}
    text = json.dumps(shuffled, indent=3, separators=(" ,  ", " : "))
    assert text != json.dumps(doc)
    assert canonical(json.loads(text)["payload"]) == canonical(doc["payload"])
    assert verify(text.encode(), KEYS, NOW).id == grant_id(doc)


def grant_id(doc: dict[str, Any]) -> UUID:
    return UUID(doc["payload"]["id"])


def test_a_document_by_a_key_not_in_the_set_is_unknown() -> None:
    forger = Ed25519PrivateKey.generate()
    with pytest.raises(UnknownKey) as caught:
        verify(signed(forger), KEYS, NOW)
    assert caught.value.code == "unknown_key"


def test_one_changed_payload_byte_breaks_the_signature() -> None:
    raw = signed(uses=5)
    tampered = raw.replace(b'"uses": 5', b'"uses": 6')
    assert len(tampered) == len(raw) and tampered != raw
    verify(raw, KEYS, NOW)
    with pytest.raises(BadSignature) as caught:
        verify(tampered, KEYS, NOW)
    assert caught.value.code == "bad_signature"


def test_a_known_kid_signed_by_another_key_is_a_bad_signature() -> None:
    other = Ed25519PrivateKey.generate()
    doc = sign(grant().to_payload(), other, kid=offline.kid_of(KEY))
    with pytest.raises(BadSignature):
        verify(doc, KEYS, NOW)


def test_a_signature_by_a_key_the_payload_does_not_name_does_not_count() -> None:
    other = Ed25519PrivateKey.generate()
    doc = sign(grant(other).to_payload(), other)
    # A valid signature by the trusted key, filed under another kid, is not the payload's.
    doc["signatures"][0]["sig"] = sign(doc["payload"] | {"kid": offline.kid_of(KEY)}, KEY)["signatures"][0][
        "sig"
    ]
    with pytest.raises(UnknownKey):
        verify(doc, KEYS, NOW)


def test_the_window_is_half_open_and_each_side_has_its_error() -> None:
    lic = grant()
    raw = signed(**{f: getattr(lic, f) for f in ("valid_from", "expires_at")})
    assert verify(raw, KEYS, lic.valid_from).id
    assert verify(raw, KEYS, lic.expires_at - timedelta(microseconds=1)).id
    with pytest.raises(Expired) as expired:
        verify(raw, KEYS, lic.expires_at)
    assert expired.value.code == "expired" and expired.value.at == lic.expires_at
    assert expired.value.license.licensee_name == "Carla Customer"
    with pytest.raises(NotYetValid) as early:
        verify(raw, KEYS, lic.valid_from - timedelta(seconds=1))
    assert early.value.code == "not_yet_valid" and early.value.at == lic.valid_from


def test_a_future_entitlement_is_not_yet_valid_now() -> None:
    raw = signed(valid_from=NOW + timedelta(days=1))
    with pytest.raises(NotYetValid):
        verify(raw, KEYS, NOW)


def test_now_defaults_to_the_clock_and_must_be_aware() -> None:
    with pytest.raises(Expired):
        verify(signed(), KEYS)  # NOW is in the past
    with pytest.raises(ValueError):
        verify(signed(), KEYS, datetime(2025, 6, 1))


def test_a_document_signed_by_a_retired_key_verifies_after_rotation() -> None:
    old, new = KEY, Ed25519PrivateKey.generate()
    raw = signed(old)
    rotated = KeySet.from_jwks(KeySet([new.public_key(), old.public_key()]).to_jwks())
    assert verify(raw, rotated, NOW).kid == offline.kid_of(old)
    with pytest.raises(UnknownKey):
        verify(raw, KeySet([new.public_key()]), NOW)


def test_oversized_documents_are_refused_before_parsing() -> None:
    raw = signed(licensee_name="x" * 900)
    padded = raw[:-1] + b"," + b" " * offline.MAX_DOCUMENT_BYTES + b"}"
    with pytest.raises(TooLarge) as caught:
        verify(padded, KEYS, NOW)
    assert isinstance(caught.value, Malformed) and caught.value.code == "too_large"


@pytest.mark.parametrize("depth", [offline.MAX_DEPTH + 1, 20_000])
def test_deep_nesting_is_refused_as_text_and_as_a_value(depth: int) -> None:
    with pytest.raises(TooLarge):
        verify(b"[" * depth + b"]" * depth, KEYS, NOW)
    nested: Any = 1
    for _ in range(depth):
        nested = {"a": nested}
    with pytest.raises(TooLarge):
        verify(nested, KEYS, NOW)


def test_brackets_inside_strings_are_not_nesting() -> None:
    assert verify(signed(licensee_name='[[[[{{{{"\\' * 50), KEYS, NOW).licensee_name.startswith("[[[[")


def test_too_many_values_in_a_parsed_document_are_refused() -> None:
    doc = sign(grant().to_payload(), KEY) | {"extra": list(range(10_000))}
    with pytest.raises(TooLarge):
        verify(doc, KEYS, NOW)


def envelope_breakers() -> list[Any]:
    good = sign(grant().to_payload(), KEY)
    sig = good["signatures"][0]
    return [
        b"\xff\xfe not utf-8",
        b"{not json",
        b"[]",
        b'{"format": "hspm-license/1", "format": "x"}',
        json.dumps(good).replace('"uses": 0', '"uses": NaN').encode(),
        good | {"format": "hspm-license/2"},
        good | {"payload": "text"},
        good | {"signatures": []},
        good | {"signatures": [sig] * 5},
        good | {"signatures": ["sig"]},
        good | {"signatures": [sig | {"alg": "RS256"}]},
        good | {"signatures": [sig | {"sig": sig["sig"][:-2]}]},
        good | {"signatures": [sig | {"sig": sig["sig"][:-1] + "="}]},
        good | {"signatures": [sig | {"kid": "not a kid!"}]},
        good | {"payload": good["payload"] | {"kid": 7}},
        42,
    ]


@pytest.mark.parametrize("doc", envelope_breakers())
def test_malformed_documents_are_malformed(doc: Any) -> None:
    with pytest.raises(Malformed) as caught:
        verify(doc, KEYS, NOW)
    assert isinstance(caught.value, LicenseError)


@pytest.mark.parametrize(
    "change",
    [
        {"id": "not-a-uuid"},
        {"licensee": {"name": "no id"}},
        {"covers": []},
        {"covers": [str(uuid4())]},
        {"license": {"id": str(uuid4()), "name": "L", "expiry": "forever", "uses": 0}},
        {"license": {"id": str(uuid4()), "name": "L", "expiry": "indefinite", "uses": True}},
        {"license": {"id": str(uuid4()), "name": "L", "expiry": "indefinite", "uses": -1}},
        {"expires_at": "2025-06-30 12:00:00"},
        {"expires_at": "2025-02-30T12:00:00Z"},
        {"valid_until": "2025-06-02T00:00:00Z"},
        {"issuer": "x" * 1001},
    ],
)
def test_a_genuinely_signed_but_malformed_payload_is_malformed(change: dict[str, Any]) -> None:
    doc = sign(grant().to_payload() | change, KEY)
    with pytest.raises(Malformed):
        verify(doc, KEYS, NOW)


def test_a_payload_of_another_format_is_malformed_even_when_signed() -> None:
    payload = grant().to_payload() | {"format": "hspm-license/2"}
    sig = offline.keys.b64url(KEY.sign(canonical(payload)))
    doc = {
        "format": "hspm-license/1",
        "payload": payload,
        "signatures": [{"kid": payload["kid"], "alg": "EdDSA", "sig": sig}],
    }
    with pytest.raises(Malformed):
        verify(doc, KEYS, NOW)


def test_unknown_payload_members_are_ignored() -> None:
    doc = sign(grant().to_payload() | {"seats": 5}, KEY)
    assert verify(doc, KEYS, NOW).uses == 0


def test_covers_names_the_product_only() -> None:
    lic = verify(signed(), KEYS, NOW)
    assert lic.covers(lic.product_id) and lic.covers(str(lic.product_id))
    assert not lic.covers(uuid4()) and not lic.covers("nope")


def test_sign_refuses_a_payload_naming_another_key() -> None:
    with pytest.raises(ValueError):
        sign(grant().to_payload() | {"kid": "someone-else"}, KEY)


# --- key sets ---------------------------------------------------------------------------------

# RFC 8037 appendix A.2/A.3: an Ed25519 public key and its RFC 7638 thumbprint.
RFC8037_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_thumbprints_follow_rfc_7638() -> None:
    key = Ed25519PublicKey.from_public_bytes(from_b64url(RFC8037_X))
    assert offline.thumbprint(key) == RFC8037_THUMBPRINT
    assert offline.jwk(key) == {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": RFC8037_X,
        "kid": RFC8037_THUMBPRINT,
        "use": "sig",
        "alg": "EdDSA",
    }


def test_a_jwk_set_keeps_ed25519_keys_and_skips_the_others() -> None:
    jwks = KEYS.to_jwks()
    jwks["keys"].append({"kty": "RSA", "kid": "r", "n": "x", "e": "AQAB"})
    jwks["keys"].append({"kty": "OKP", "crv": "X25519", "kid": "x", "x": RFC8037_X})
    assert list(KeySet.from_jwks(jwks)) == [offline.kid_of(KEY)]


@pytest.mark.parametrize(
    "entry",
    [
        {"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X, "kid": "not-the-thumbprint"},
        {"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X[:-2], "kid": RFC8037_THUMBPRINT},
        {"kty": "OKP", "crv": "Ed25519", "x": "!!", "kid": RFC8037_THUMBPRINT},
        {"kty": "OKP", "crv": "Ed25519", "kid": RFC8037_THUMBPRINT},
    ],
)
def test_a_jwk_set_with_a_bad_ed25519_key_is_refused(entry: dict[str, Any]) -> None:
    with pytest.raises(BadKeySet):
        KeySet.from_jwks({"keys": [entry]})


def test_a_jwk_set_must_be_a_bounded_list() -> None:
    for bad in ({}, {"keys": "x"}, {"keys": [{}] * 65}):
        with pytest.raises(BadKeySet):
            KeySet.from_jwks(bad)
