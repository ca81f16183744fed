"""The signing keys read at start (a bad one stops the service), and the offline rules as arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from hspm.client import offline
from hspm.common.auth import Principal
from hspm.licensing.app import create_app
from hspm.licensing.config import Settings
from hspm.licensing.offline import keys
from hspm.licensing.offline.service import expires_at, may_issue


def pem(key: Any) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_pem(key: Any) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def settings(**values: Any) -> Settings:
    return Settings(internal_secret="s" * 32, **values)


CURRENT = ed25519.Ed25519PrivateKey.generate()
RETIRED = ed25519.Ed25519PrivateKey.generate()


def test_the_current_key_signs_and_is_published_first_then_the_retired_ones() -> None:
    loaded = keys.load(
        settings(license_signing_key=pem(CURRENT), license_retired_public_keys=public_pem(RETIRED))
    )
    assert loaded.kid == offline.kid_of(CURRENT)
    assert [k["kid"] for k in loaded.jwks()["keys"]] == [offline.kid_of(CURRENT), offline.kid_of(RETIRED)]


def test_no_signing_key_signs_nothing_but_still_publishes_retired_keys() -> None:
    loaded = keys.load(settings(license_signing_key="", license_retired_public_keys=public_pem(RETIRED)))
    assert loaded.private_key is None and loaded.kid is None
    assert list(loaded.public) == [offline.kid_of(RETIRED)]


def test_retired_keys_are_concatenated_pems_and_a_repeated_key_is_published_once() -> None:
    both = public_pem(RETIRED) + public_pem(CURRENT) + "\n\n" + public_pem(RETIRED)
    loaded = keys.load(settings(license_signing_key=pem(CURRENT), license_retired_public_keys=both))
    assert len(loaded.jwks()["keys"]) == 2


@pytest.mark.parametrize(
    ("values", "names"),
    [
        ({"license_signing_key": "not a key"}, "HSPM_LICENSE_SIGNING_KEY"),
        ({"license_signing_key": pem(ec.generate_private_key(ec.SECP256R1()))}, "Ed25519"),
        ({"license_signing_key": public_pem(CURRENT)}, "HSPM_LICENSE_SIGNING_KEY"),
        ({"license_retired_public_keys": "junk\n" + public_pem(RETIRED)}, "HSPM_LICENSE_RETIRED_PUBLIC_KEYS"),
        ({"license_retired_public_keys": public_pem(ec.generate_private_key(ec.SECP256R1()))}, "key 1"),
        (
            {"license_retired_public_keys": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"},
            "key 1 does not parse",
        ),
    ],
)
def test_a_bad_key_setting_stops_the_app_from_being_built(values: dict[str, str], names: str) -> None:
    with pytest.raises(keys.SigningKeyError) as caught:
        create_app(settings(**values))
    assert names in str(caught.value)


def test_the_error_never_repeats_the_private_key() -> None:
    secret = pem(CURRENT)
    broken = secret.replace("-----END PRIVATE KEY-----", "")
    with pytest.raises(keys.SigningKeyError) as caught:
        keys.load(settings(license_signing_key=broken))
    body = broken.splitlines()[1]
    assert body not in str(caught.value)


# --- how long a document lasts --------------------------------------------------------------

T = datetime(2025, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("valid_from", "valid_until", "expected"),
    [
        (T - timedelta(days=5), None, T + timedelta(days=30)),
        (T - timedelta(days=5), T + timedelta(days=3), T + timedelta(days=3)),
        (T + timedelta(days=10), None, T + timedelta(days=40)),
        (T + timedelta(days=10), T + timedelta(days=20), T + timedelta(days=20)),
    ],
)
def test_a_document_lasts_n_days_from_first_use_and_never_past_the_entitlement(
    valid_from: datetime, valid_until: datetime | None, expected: datetime
) -> None:
    assert expires_at(T, valid_from, valid_until, 30) == expected


# --- who may take an entitlement offline ----------------------------------------------------

HOLDER, ISV = uuid4(), uuid4()
ROW = {"user_id": HOLDER, "owner_id": ISV}


def who(
    user_id: Any = None, keys_: frozenset[str] = frozenset(), scopes: frozenset[str] | None = None
) -> Principal:
    return Principal(kind="user", user_id=user_id or uuid4(), permissions=keys_, scopes=scopes)


@pytest.mark.parametrize(
    ("principal", "allowed"),
    [
        (who(HOLDER), True),
        (who(ISV), True),
        (who(keys_=frozenset({"entitlements.create"})), True),
        (who(keys_=frozenset({"everything.manage"})), True),
        (who(keys_=frozenset({"entitlements.read"})), False),  # an auditor
        (who(HOLDER, scopes=frozenset({"entitlements.read"})), True),
        (who(HOLDER, scopes=frozenset({"claims.read"})), False),
        (who(ISV, scopes=frozenset({"entitlements.read"})), False),  # an ISV grants: create
        (who(ISV, scopes=frozenset({"entitlements.create"})), True),
        (who(), False),
    ],
)
def test_who_may_take_an_entitlement_offline(principal: Principal, allowed: bool) -> None:
    assert may_issue(principal, ROW) is allowed  # type: ignore[arg-type]
