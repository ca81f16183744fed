"""A licensed product runs only under a valid offline document, verified with no network."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hspm.client import offline
from hspm.client.platform_agent.config import LicenseSettings
from hspm.client.platform_agent.licenses import LicenseRefused, Licenses
from hspm.client.platform_agent.state import State

PRODUCT = uuid4()


class Catalog:
    """The marketplace as the license check reads it: offers and keys, counted."""

    def __init__(self, key: Ed25519PrivateKey, offers: bool = True) -> None:
        self.jwks = offline.KeySet([key.public_key()]).to_jwks()
        self.offers = offers
        self.key_reads = 0

    async def product(self, product_id: str) -> dict[str, Any]:
        return {"id": product_id, "product_licenses": [{"id": "o"}] if self.offers else []}

    async def license_keys(self) -> dict[str, Any]:
        self.key_reads += 1
        return self.jwks


def document(
    key: Ed25519PrivateKey, days: int = 30, product: UUID = PRODUCT, **changes: Any
) -> dict[str, Any]:
    now = datetime.now(UTC).replace(microsecond=0)
    grant = offline.License(
        id=uuid4(), issuer="https://mp.example", kid=offline.kid_of(key), entitlement_id=uuid4(),
        licensee_id=uuid4(), licensee_name=None, product_id=product, product_name="App", products=(product,),
        license_id=uuid4(), license_name="Pilot", expiry="relative_date", uses=0,
        valid_from=now - timedelta(days=60), valid_until=None, issued_at=now - timedelta(days=60),
        expires_at=now + timedelta(days=days),
    )  # fmt: skip
    signed = offline.sign(grant.to_payload(), key)
    signed["payload"] |= changes  # a change after signing: forged
    return signed


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def licenses(tmp_path: Path, key: Ed25519PrivateKey, *docs: dict[str, Any], offers: bool = True) -> Licenses:
    folder = tmp_path / "licenses"
    folder.mkdir()
    for i, doc in enumerate(docs):
        (folder / f"{i}.json").write_text(json.dumps(doc))
    settings = LicenseSettings(documents_dir=str(folder), keys_file=str(tmp_path / "keys.json"))
    return Licenses(settings, Catalog(key, offers), State(tmp_path / "agent.db"))  # type: ignore[arg-type]


async def test_a_valid_document_grants_and_names_the_claims(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    valid = document(key)
    check = licenses(tmp_path, key, document(key, days=-1), valid)
    grant = await check.grant(str(PRODUCT))
    assert grant is not None
    assert grant.env["HSPM_ENTITLEMENT_ID"] == valid["payload"]["entitlement_id"]
    assert grant.env["HSPM_LICENSE_FILE"] == "/run/hspm/license.json"
    assert Path(grant.document_path).name == "1.json"
    assert json.loads((tmp_path / "keys.json").read_text())["keys"]  # kept for offline restarts


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda key: [], "no license document"),
        (lambda key: [document(key, days=-1)], "expired"),
        (lambda key: [document(key, licensee={"user_id": str(uuid4()), "name": "Mallory"})], "bad_signature"),
        (lambda key: [document(Ed25519PrivateKey.generate())], "unknown_key"),
        (lambda key: [document(key, product=uuid4())], "no license document"),
    ],
)
async def test_missing_expired_forged_or_foreign_documents_are_refused(
    tmp_path: Path, key: Ed25519PrivateKey, make: Any, reason: str
) -> None:
    check = licenses(tmp_path, key, *make(key))
    with pytest.raises(LicenseRefused, match=reason):
        await check.grant(str(PRODUCT))


async def test_a_revoked_entitlement_no_longer_grants(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    doc = document(key)
    check = licenses(tmp_path, key, doc)
    check.state.revoke(doc["payload"]["entitlement_id"])
    with pytest.raises(LicenseRefused, match="revoked"):
        await check.grant(str(PRODUCT))


async def test_products_without_offers_need_no_document(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    assert await licenses(tmp_path, key, offers=False).grant(str(PRODUCT)) is None
