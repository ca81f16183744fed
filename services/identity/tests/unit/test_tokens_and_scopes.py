"""The Marketplace's own tokens and API-token scoping, without I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from hspm.identity.signing import TokenIssuer, generate_private_key_pem
from hspm.identity.tokens.service import scoped

ISSUER = "https://marketplace.example"


def _public_pem(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


class TestTokenIssuer:
    def test_issued_token_verifies_with_the_published_key(self):
        issuer = TokenIssuer(generate_private_key_pem(), ISSUER + "/")
        user_id, session_id = uuid4(), uuid4()
        expires = datetime.now(UTC) + timedelta(hours=1)
        token = issuer.issue(user_id, session_id, "session", expires)
        [jwk] = issuer.jwks()["keys"]
        assert jwt.get_unverified_header(token)["kid"] == jwk["kid"] == issuer.kid
        claims = jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=["ES256"], audience="hspm", issuer=ISSUER)
        assert (claims["sub"], claims["sid"], claims["jti"]) == (
            str(user_id),
            str(session_id),
            str(session_id),
        )
        assert (claims["kind"], claims["exp"]) == ("session", int(expires.timestamp()))

    def test_previous_keys_stay_published(self):
        old, new = generate_private_key_pem(), generate_private_key_pem()
        old_token = TokenIssuer(old, ISSUER).issue(
            uuid4(), uuid4(), "api", datetime.now(UTC) + timedelta(days=1)
        )
        rotated = TokenIssuer(new, ISSUER, _public_pem(old) + _public_pem(generate_private_key_pem()))
        keys = rotated.jwks()["keys"]
        assert len(keys) == 3
        assert keys[0]["kid"] == rotated.kid
        kid = jwt.get_unverified_header(old_token)["kid"]
        [jwk] = [k for k in keys if k["kid"] == kid]
        jwt.decode(old_token, jwt.PyJWK(jwk).key, algorithms=["ES256"], audience="hspm")
        assert all("d" not in k for k in keys)

    @pytest.mark.parametrize(
        "key",
        [
            ec.generate_private_key(ec.SECP384R1()),
            rsa.generate_private_key(public_exponent=65537, key_size=2048),
        ],
        ids=["P-384", "RSA"],
    )
    def test_only_p256_keys_sign(self, key):
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        with pytest.raises(ValueError, match="P-256"):
            TokenIssuer(pem, ISSUER)


class TestScoped:
    USER = {"users.read_self", "groups.read", "products.read"}

    @pytest.mark.parametrize("scopes", [None, ["*"], ["*", "groups.read"]])
    def test_star_or_none_keeps_everything(self, scopes):
        assert scoped(self.USER, scopes) == self.USER

    def test_scopes_intersect(self):
        assert scoped(self.USER, ["groups.read", "roles.delete"]) == {"groups.read"}

    def test_no_scopes_means_nothing(self):
        assert scoped(self.USER, []) == set()

    def test_administrator_gets_exactly_the_scopes(self):
        assert scoped({"everything.manage"}, ["roles.delete", "not.a.key"]) == {"roles.delete"}
