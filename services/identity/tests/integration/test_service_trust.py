"""Service trust: identity refuses to start without a strong internal secret, and acts only
on principal assertions the gateway signed for identity."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hspm.common.auth import PRINCIPAL_HEADER, sign_assertion
from hspm.common.config import MIN_INTERNAL_SECRET_LENGTH
from hspm.common.testing import TEST_INTERNAL_SECRET
from hspm.identity.app import create_app
from hspm.identity.config import Settings
from hspm.identity.signing import generate_private_key_pem


class TestInternalSecret:
    def test_refuses_to_start_without_one(self, monkeypatch):
        monkeypatch.delenv("HSPM_INTERNAL_SECRET", raising=False)
        with pytest.raises(RuntimeError, match="HSPM_INTERNAL_SECRET"):
            create_app(Settings(signing_key=generate_private_key_pem()))

    @pytest.mark.parametrize("secret", ["change-me", "x" * (MIN_INTERNAL_SECRET_LENGTH - 1)])
    def test_refuses_a_short_one(self, secret):
        # The gateway refused these; identity used to accept them and trust what they signed.
        with pytest.raises(ValidationError, match="HSPM_INTERNAL_SECRET"):
            Settings(signing_key=generate_private_key_pem(), internal_secret=secret)


class TestAssertionAudience:
    async def test_an_assertion_for_another_service_is_401(self, identity):
        user = await identity.make_user()
        headers = {PRINCIPAL_HEADER: sign_assertion(identity.admin, TEST_INTERNAL_SECRET, audience="catalog")}
        r = await identity.get(f"/users/{user['id']}", headers=headers)
        assert r.status == 401, r
        assert r.content_type == "application/problem+json"

    async def test_the_gateways_lookup_must_be_signed_for_identity(self, identity):
        token = await identity.make_token((await identity.make_user())["id"])
        for_catalog = sign_assertion(identity.gateway, TEST_INTERNAL_SECRET, audience="catalog")
        r = await identity.get(f"/internal/sessions/{token['id']}", headers={PRINCIPAL_HEADER: for_catalog})
        assert r.status == 401, r
        for_identity = sign_assertion(identity.gateway, TEST_INTERNAL_SECRET, audience="identity")
        r = await identity.get(f"/internal/sessions/{token['id']}", headers={PRINCIPAL_HEADER: for_identity})
        assert r.status == 200, r
