"""``sessions.oidc.verify_id_token``: every check an id_token must pass before anyone is logged in."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from hspm.identity.sessions.oidc import LoginRejected, verify_id_token

ISSUER = "https://sso.example/realms/hspm"
CLIENT = "marketplace"
ALTERNATE = "marketplace-spa"
NONCE = "n-0S6_WzA2Mj"
KID = "key-1"


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks(key: rsa.RSAPrivateKey) -> dict[str, Any]:
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {"keys": [jwk | {"kid": KID, "alg": "RS256", "use": "sig"}]}


def _idp(alternate: str | None = ALTERNATE) -> dict[str, Any]:
    # verify_id_token reads the provider row by key; a dict stands in for the record.
    return {"issuer": ISSUER, "client_id": CLIENT, "alternate_client_id": alternate}


def _token(key: rsa.RSAPrivateKey, kid: str = KID, **changes: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": CLIENT,
        "sub": "248289761001",
        "nonce": NONCE,
        "iat": now,
        "exp": now + 300,
    }
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


class TestValidToken:
    def test_passes_and_returns_the_claims(self, key, jwks):
        claims = verify_id_token(_token(key, email="a@example.org"), _idp(), jwks, NONCE)
        assert (claims["sub"], claims["email"]) == ("248289761001", "a@example.org")

    def test_alternate_client_id_is_an_accepted_audience(self, key, jwks):
        claims = verify_id_token(_token(key, aud=ALTERNATE, azp=ALTERNATE), _idp(), jwks, NONCE)
        assert claims["azp"] == ALTERNATE

    def test_audience_list_containing_the_client_passes(self, key, jwks):
        verify_id_token(_token(key, aud=[CLIENT, "account"], azp=CLIENT), _idp(), jwks, NONCE)

    def test_small_clock_skew_is_tolerated(self, key, jwks):
        verify_id_token(_token(key, exp=int(time.time()) - 5), _idp(), jwks, NONCE)


class TestRejectedToken:
    @pytest.mark.parametrize(
        "changes",
        [
            pytest.param({"nonce": "another-login"}, id="wrong nonce"),
            pytest.param({"nonce": None}, id="no nonce"),
            pytest.param({"aud": "someone-else"}, id="wrong audience"),
            pytest.param({"azp": "someone-else"}, id="foreign azp"),
            pytest.param({"exp": int(time.time()) - 3600}, id="expired"),
            pytest.param({"iss": "https://evil.example"}, id="wrong issuer"),
            pytest.param({"iss": ISSUER + "/"}, id="issuer with a trailing slash"),
            pytest.param({"sub": None}, id="no subject"),
            pytest.param({"iat": None}, id="no issued-at"),
        ],
    )
    def test_claims(self, key, jwks, changes):
        with pytest.raises(LoginRejected):
            verify_id_token(_token(key, **changes), _idp(), jwks, NONCE)

    def test_alternate_audience_without_an_alternate_client(self, key, jwks):
        with pytest.raises(LoginRejected):
            verify_id_token(_token(key, aud=ALTERNATE), _idp(alternate=None), jwks, NONCE)

    def test_unknown_kid(self, key, jwks):
        with pytest.raises(LoginRejected, match="unknown key"):
            verify_id_token(_token(key, kid="rotated-away"), _idp(), jwks, NONCE)

    def test_no_kid(self, key, jwks):
        token = jwt.encode({"iss": ISSUER, "aud": CLIENT, "sub": "s", "nonce": NONCE}, key, algorithm="RS256")
        with pytest.raises(LoginRejected):
            verify_id_token(token, _idp(), jwks, NONCE)

    def test_signed_by_another_key_under_a_known_kid(self, jwks):
        impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        with pytest.raises(LoginRejected):
            verify_id_token(_token(impostor), _idp(), jwks, NONCE)

    def test_tampered_payload(self, key, jwks):
        header, _, signature = _token(key).split(".")
        forged_payload = _token(key, sub="admin").split(".")[1]
        with pytest.raises(LoginRejected):
            verify_id_token(f"{header}.{forged_payload}.{signature}", _idp(), jwks, NONCE)

    def test_hmac_signed_token(self, key, jwks):
        # Algorithm confusion: a symmetric signature must never stand in for the IdP's key.
        token = jwt.encode(
            {"iss": ISSUER, "aud": CLIENT, "sub": "s", "nonce": NONCE, "iat": 0, "exp": 2**31},
            "a-shared-secret-of-at-least-32-bytes!",
            algorithm="HS256",
            headers={"kid": KID},
        )
        with pytest.raises(LoginRejected):
            verify_id_token(token, _idp(), jwks, NONCE)

    def test_unsigned_token(self, jwks):
        token = jwt.encode({"iss": ISSUER, "aud": CLIENT, "sub": "s", "nonce": NONCE}, None, algorithm="none")
        with pytest.raises(LoginRejected):
            verify_id_token(token, _idp(), jwks, NONCE)

    def test_garbage(self, jwks):
        with pytest.raises(LoginRejected):
            verify_id_token("not.a.jwt", _idp(), jwks, NONCE)

    def test_broken_key_set(self, key):
        with pytest.raises(LoginRejected):
            verify_id_token(_token(key), _idp(), {"keys": [{"kty": "RSA", "kid": KID}]}, NONCE)
