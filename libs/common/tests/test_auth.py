"""Principal assertions (gateway to service) and the Principal's permission checks."""

from __future__ import annotations

import time
from uuid import uuid4

import jwt
import pytest

from hspm.common.auth import (
    ANONYMOUS,
    PRINCIPAL_HEADER,
    Principal,
    service_principal,
    sign_assertion,
    verify_assertion,
)
from hspm.common.errors import Forbidden, Unauthorized
from hspm.common.permissions import MANAGE
from hspm.common.testing import TEST_INTERNAL_SECRET, as_headers, user

SECRET = TEST_INTERNAL_SECRET


def claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    base: dict[str, object] = {
        "iss": "hspm-gateway",
        "aud": "hspm-internal",
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
        assert verify_assertion(sign_assertion(principal, SECRET), SECRET) == principal

    def test_service_principal_survives(self) -> None:
        principal = service_principal("validator", {"validations.create"})
        assert verify_assertion(sign_assertion(principal, SECRET), SECRET) == principal

    def test_anonymous_survives(self) -> None:
        assert verify_assertion(sign_assertion(ANONYMOUS, SECRET), SECRET) == ANONYMOUS

    def test_test_helper_builds_the_header(self) -> None:
        principal = user({"products.read"})
        headers = as_headers(principal)
        assert verify_assertion(headers[PRINCIPAL_HEADER], SECRET) == principal


class TestAssertionRejected:
    def test_forged_with_another_secret(self) -> None:
        forged = sign_assertion(user({MANAGE}), "not-the-secret-" + "y" * 24)
        with pytest.raises(Unauthorized):
            verify_assertion(forged, SECRET)

    def test_expired(self) -> None:
        stale = sign_assertion(user(), SECRET, ttl=-30)
        with pytest.raises(Unauthorized):
            verify_assertion(stale, SECRET)

    def test_wrong_audience(self) -> None:
        token = jwt.encode(claims(aud="hspm"), SECRET, algorithm="HS256")
        with pytest.raises(Unauthorized):
            verify_assertion(token, SECRET)

    def test_wrong_issuer(self) -> None:
        token = jwt.encode(claims(iss="someone"), SECRET, algorithm="HS256")
        with pytest.raises(Unauthorized):
            verify_assertion(token, SECRET)

    @pytest.mark.parametrize("missing", ["exp", "iat", "kind"])
    def test_required_claim_missing(self, missing: str) -> None:
        token = jwt.encode(claims(**{missing: None}), SECRET, algorithm="HS256")
        with pytest.raises(Unauthorized):
            verify_assertion(token, SECRET)

    def test_unknown_kind(self) -> None:
        token = jwt.encode(claims(kind="admin"), SECRET, algorithm="HS256")
        with pytest.raises(Unauthorized):
            verify_assertion(token, SECRET)

    def test_unsigned_token(self) -> None:
        token = jwt.encode(claims(), "", algorithm="none")
        with pytest.raises(Unauthorized):
            verify_assertion(token, SECRET)

    @pytest.mark.parametrize("claim", ["sub", "sid"])
    def test_signed_but_not_a_uuid(self, claim: str) -> None:
        # A correctly signed assertion with a malformed id was a ValueError (500).
        token = jwt.encode(claims(**{claim: "not-a-uuid"}), SECRET, algorithm="HS256")
        with pytest.raises(Unauthorized):
            verify_assertion(token, SECRET)

    def test_garbage(self) -> None:
        with pytest.raises(Unauthorized):
            verify_assertion("not.a.jwt", SECRET)


class TestAssertionPermissions:
    def test_unknown_permission_keys_are_dropped(self) -> None:
        token = jwt.encode(
            claims(perms=["products.read", "spaceships.launch", MANAGE]), SECRET, algorithm="HS256"
        )
        assert verify_assertion(token, SECRET).permissions == {"products.read", MANAGE}


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
