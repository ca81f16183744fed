"""Principal assertions (gateway to service) and the Principal's permission checks."""

from __future__ import annotations

import time
from typing import Any
from uuid import uuid4

import jwt
import pytest
from pydantic import ValidationError

from hspm.common.auth import (
    ANONYMOUS,
    PRINCIPAL_HEADER,
    Principal,
    service_principal,
    sign_assertion,
    verify_assertion,
)
from hspm.common.config import MIN_INTERNAL_SECRET_LENGTH, ServiceSettings
from hspm.common.errors import Forbidden, Unauthorized
from hspm.common.permissions import MANAGE
from hspm.common.testing import TEST_AUDIENCES, TEST_INTERNAL_SECRET, as_headers, user

SECRET = TEST_INTERNAL_SECRET
# The service an assertion is meant for (its ``aud``).
FOR = "catalog"


def sign(principal: Principal, secret: str = SECRET, **kw: Any) -> str:
    return sign_assertion(principal, secret, audience=FOR, **kw)


def verify(value: str, secret: str = SECRET) -> Principal:
    return verify_assertion(value, secret, audience=FOR)


def claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    base: dict[str, object] = {
        "iss": "hspm-gateway",
        "aud": FOR,
        "iat": now,
        "exp": now + 60,
        "kind": "user",
        "name": "Ada",
        "perms": ["products.read"],
        "sub": str(uuid4()),
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


class TestAssertionRoundTrip:
    def test_user_principal_survives_sign_and_verify(self) -> None:
        principal = user({"products.read", "builds.validate"}, name="Ada")
        assert verify(sign(principal)) == principal

    def test_service_principal_survives(self) -> None:
        principal = service_principal("validator", {"validations.create"})
        assert verify(sign(principal)) == principal

    def test_anonymous_survives(self) -> None:
        assert verify(sign(ANONYMOUS)) == ANONYMOUS

    def test_test_helper_builds_the_header(self) -> None:
        principal = user({"products.read"})
        headers = as_headers(principal)
        assert verify(headers[PRINCIPAL_HEADER]) == principal

    @pytest.mark.parametrize("service", TEST_AUDIENCES)
    def test_test_helper_signs_for_every_service_by_default(self, service: str) -> None:
        # Every service's tests send as_headers(who) unchanged; each app accepts its own name.
        principal = user({"products.read"})
        value = as_headers(principal)[PRINCIPAL_HEADER]
        assert verify_assertion(value, SECRET, audience=service) == principal

    def test_test_helper_signs_for_one_service_when_asked(self) -> None:
        value = as_headers(user(), audience="curation")[PRINCIPAL_HEADER]
        verify_assertion(value, SECRET, audience="curation")
        with pytest.raises(Unauthorized):
            verify_assertion(value, SECRET, audience="catalog")

    def test_empty_scopes_survive_as_no_rights(self) -> None:
        # An API token with scopes [] grants nothing: not "unscoped".
        me = Principal(kind="user", user_id=uuid4(), session_id=uuid4(), scopes=frozenset())
        back = verify(sign(me))
        assert back.scopes == frozenset() and back.is_scoped
        assert not back.may_as_owner("products", "update", me.user_id)


class TestAssertionRejected:
    def test_forged_with_another_secret(self) -> None:
        forged = sign(user({MANAGE}), "not-the-secret-" + "y" * 24)
        with pytest.raises(Unauthorized):
            verify(forged)

    def test_expired(self) -> None:
        stale = sign(user(), ttl=-30)
        with pytest.raises(Unauthorized):
            verify(stale)

    def test_wrong_audience(self) -> None:
        token = jwt.encode(claims(aud="hspm"), SECRET, algorithm="HS256")
        with pytest.raises(Unauthorized):
            verify(token)

    def test_assertion_for_another_service_is_refused(self) -> None:
        # The gateway signs each assertion for the service it forwards to; one captured
        # from (or logged by) curation must not act on the catalog.
        for_curation = sign_assertion(user({MANAGE}), SECRET, audience="curation")
        assert verify_assertion(for_curation, SECRET, audience="curation").is_admin
        with pytest.raises(Unauthorized):
            verify(for_curation)

    def test_assertion_without_a_service_audience_is_refused(self) -> None:
        # What the gateway signed before assertions named their service.
        legacy = jwt.encode(claims(aud="hspm-internal"), SECRET, algorithm="HS256")
        with pytest.raises(Unauthorized):
            verify(legacy)
        with pytest.raises(Unauthorized):
            verify(jwt.encode(claims(aud=None), SECRET, algorithm="HS256"))

    def test_wrong_issuer(self) -> None:
        token = jwt.encode(claims(iss="someone"), SECRET, algorithm="HS256")
        with pytest.raises(Unauthorized):
            verify(token)

    @pytest.mark.parametrize("missing", ["exp", "iat", "kind"])
    def test_required_claim_missing(self, missing: str) -> None:
        token = jwt.encode(claims(**{missing: None}), SECRET, algorithm="HS256")
        with pytest.raises(Unauthorized):
            verify(token)

    def test_unknown_kind(self) -> None:
        token = jwt.encode(claims(kind="admin"), SECRET, algorithm="HS256")
        with pytest.raises(Unauthorized):
            verify(token)

    def test_unsigned_token(self) -> None:
        token = jwt.encode(claims(), "", algorithm="none")
        with pytest.raises(Unauthorized):
            verify(token)

    @pytest.mark.parametrize("claim", ["sub", "sid"])
    def test_signed_but_not_a_uuid(self, claim: str) -> None:
        # A correctly signed assertion with a malformed id was a ValueError (500).
        token = jwt.encode(claims(**{claim: "not-a-uuid"}), SECRET, algorithm="HS256")
        with pytest.raises(Unauthorized):
            verify(token)

    def test_garbage(self) -> None:
        with pytest.raises(Unauthorized):
            verify("not.a.jwt")


class TestAssertionPermissions:
    def test_unknown_permission_keys_are_dropped(self) -> None:
        token = jwt.encode(
            claims(perms=["products.read", "spaceships.launch", MANAGE]), SECRET, algorithm="HS256"
        )
        assert verify(token).permissions == {"products.read", MANAGE}


class TestPrincipalChecks:
    def test_can_needs_the_exact_key(self) -> None:
        principal = user({"products.read"})
        assert principal.can("products", "read")
        assert not principal.can("products", "update")
        assert not principal.can("builds", "read")

    def test_everything_manage_can_do_anything(self) -> None:
        admin = user({MANAGE})
        assert admin.is_admin
        assert admin.can("products", "delete")
        admin.require("roles", "update")

    def test_require_passes_with_the_permission(self) -> None:
        user({"products.read"}).require("products", "read")

    def test_require_is_401_for_anonymous(self) -> None:
        with pytest.raises(Unauthorized):
            ANONYMOUS.require("products", "read")

    def test_require_is_403_for_a_user_without_it(self) -> None:
        with pytest.raises(Forbidden, match="products.update"):
            user({"products.read"}).require("products", "update")

    def test_owns_only_matching_ids(self) -> None:
        me = user()
        assert me.owns(me.user_id)
        assert not me.owns(uuid4())
        assert not me.owns(None)
        assert not ANONYMOUS.owns(None)

    def test_owner_passes_without_the_permission(self) -> None:
        me = user()
        me.require_or_owner("products", "update", me.user_id)

    def test_non_owner_needs_the_permission(self) -> None:
        with pytest.raises(Forbidden):
            user().require_or_owner("products", "update", uuid4())
        with pytest.raises(Unauthorized):
            ANONYMOUS.require_or_owner("products", "update", uuid4())

    def test_anonymous_is_anonymous(self) -> None:
        assert ANONYMOUS.is_anonymous and not ANONYMOUS.is_admin
        assert Principal() == ANONYMOUS


class TestInternalSecretSettings:
    """Every service refuses a guessable HMAC key, not only the gateway that signs with it."""

    @pytest.mark.parametrize("secret", ["x", "change-me", "x" * (MIN_INTERNAL_SECRET_LENGTH - 1)])
    def test_short_secret_is_refused_by_every_service(
        self, secret: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        class AnyService(ServiceSettings):
            service_name: str = "any"

        with pytest.raises(ValidationError, match="HSPM_INTERNAL_SECRET"):
            ServiceSettings(internal_secret=secret)
        with pytest.raises(ValidationError, match="HSPM_INTERNAL_SECRET"):
            AnyService(internal_secret=secret)
        monkeypatch.setenv("HSPM_INTERNAL_SECRET", secret)
        with pytest.raises(ValidationError, match="HSPM_INTERNAL_SECRET"):
            AnyService()

    def test_the_minimum_is_accepted(self) -> None:
        secret = "x" * MIN_INTERNAL_SECRET_LENGTH
        settings = ServiceSettings(internal_secret=secret)
        assert settings.require_internal_secret() == secret

    def test_unset_secret_is_refused_where_one_is_needed(self, monkeypatch: pytest.MonkeyPatch) -> None:
        # Tools and tests that never verify an assertion may leave it unset; a service
        # that does asks for it at start (require_internal_secret) and refuses to run.
        monkeypatch.delenv("HSPM_INTERNAL_SECRET", raising=False)
        with pytest.raises(RuntimeError, match="HSPM_INTERNAL_SECRET"):
            ServiceSettings().require_internal_secret()
