"""Bearer tokens: verified at the edge, turned into a signed principal for services."""

from __future__ import annotations

import asyncio

import jwt
import pytest

from hspm.common.auth import PRINCIPAL_HEADER, verify_assertion
from hspm.common.errors import Unauthorized
from hspm.common.testing import TEST_INTERNAL_SECRET, unique

CHALLENGE = 'Bearer error="invalid_token"'


async def echo(gateway, path="/users/me", **kwargs):
    async with gateway.http.get(path, **kwargs) as resp:
        return resp.status, resp.headers, await resp.json()


class TestPrincipal:
    async def test_anonymous_request_carries_no_principal(self, gateway):
        status, _, body = await echo(gateway)
        assert status == 200
        assert body["principal"] is None

    async def test_valid_token_forwards_the_session_principal(self, gateway, identity):
        headers, sid, uid = identity.bearer(["products.read", "products.create"])
        status, _, body = await echo(gateway, headers=headers)
        assert status == 200
        assert body["principal"] == {
            "kind": "user",
            "user_id": uid,
            "session_id": sid,
            "name": "Ada",
            "permissions": ["products.create", "products.read"],
        }
        assert "Authorization" not in body["headers"]

    async def test_token_reaches_every_service(self, gateway, identity):
        headers, _, uid = identity.bearer(["platforms.read"])
        _, _, body = await echo(gateway, "/users/x/platforms", headers=headers)
        assert body["service"] == "notifier"
        assert body["principal"]["user_id"] == uid

    async def test_client_sent_principal_is_stripped(self, gateway, identity):
        forged = {"X-HSPM-Principal": "eyJhbGciOiJIUzI1NiJ9.e30.x"}
        _, _, body = await echo(gateway, headers=forged)
        assert body["principal"] is None
        assert "X-HSPM-Principal" not in body["headers"]
        headers, sid, _ = identity.bearer(["users.read"])
        _, _, body = await echo(gateway, headers=headers | forged)
        assert body["principal"]["session_id"] == sid

    async def test_status_shows_the_callers_identity(self, gateway, identity):
        headers, _, uid = identity.bearer(["users.read"])
        async with gateway.http.get("/status", headers=headers) as resp:
            body = await resp.json()
        assert body["identity"]["id"] == uid
        assert body["permissions"] == ["users.read"]

    async def test_principal_is_cached_per_session(self, gateway, identity):
        headers, _, _ = identity.bearer(["users.read"])
        before = identity.lookups
        for _ in range(5):
            await echo(gateway, headers=headers)
        assert identity.lookups == before + 1

    @pytest.mark.parametrize(
        ("path", "service"), [("/users/me", "identity"), ("/products/1", "catalog"), ("/reviews", "curation")]
    )
    async def test_each_assertion_names_the_service_it_is_for(self, gateway, identity, path, service):
        # The fakes verify with their own name (conftest); here: no other service accepts it.
        headers, sid, _ = identity.bearer(["users.read"])
        _, _, body = await echo(gateway, path, headers=headers)
        assert body["service"] == service
        assert body["principal"]["session_id"] == sid
        assertion = body["headers"][PRINCIPAL_HEADER]
        assert jwt.decode(assertion, options={"verify_signature": False})["aud"] == service
        for other in {"identity", "catalog", "curation", "licensing", "notifier"} - {service}:
            with pytest.raises(Unauthorized):
                verify_assertion(assertion, TEST_INTERNAL_SECRET, audience=other)

    async def test_concurrent_first_requests_share_one_lookup(self, gateway, identity):
        headers, _, _ = identity.bearer(["users.read"])
        before = identity.lookups
        results = await asyncio.gather(*(echo(gateway, headers=headers) for _ in range(20)))
        assert all(status == 200 for status, _, _ in results)
        assert identity.lookups == before + 1


class TestRefusedTokens:
    async def assert_refused(self, gateway, token):
        status, headers, body = await echo(gateway, headers={"Authorization": f"Bearer {token}"})
        assert status == 401, body
        assert headers["WWW-Authenticate"] == CHALLENGE
        assert headers["Content-Type"].startswith("application/problem+json")
        assert body["status"] == 401
        return body

    async def test_garbage(self, gateway):
        await self.assert_refused(gateway, "not-a-token")

    async def test_forged_signature(self, gateway, identity, make_key):
        sid, uid = identity.new_session()
        impostor = make_key(identity.keys[0].kid)
        await self.assert_refused(gateway, identity.token(sid, uid, key=impostor))

    async def test_wrong_issuer(self, gateway, identity):
        sid, uid = identity.new_session()
        await self.assert_refused(gateway, identity.token(sid, uid, iss="http://elsewhere"))

    async def test_wrong_audience(self, gateway, identity):
        sid, uid = identity.new_session()
        await self.assert_refused(gateway, identity.token(sid, uid, aud="another-app"))

    async def test_expired(self, gateway, identity):
        sid, uid = identity.new_session()
        body = await self.assert_refused(gateway, identity.token(sid, uid, lifetime=-60))
        assert "expired" in body["message"]

    @pytest.mark.parametrize("claim", ["sid", "sub", "exp", "iat"])
    async def test_missing_claim(self, gateway, identity, claim):
        sid, uid = identity.new_session()
        await self.assert_refused(gateway, identity.token(sid, uid, drop=(claim,)))

    async def test_unknown_session(self, gateway, identity):
        sid, uid = identity.new_session()
        del identity.sessions[sid]
        await self.assert_refused(gateway, identity.token(sid, uid))

    async def test_session_of_another_user(self, gateway, identity):
        sid, _ = identity.new_session()
        _, other_uid = identity.new_session()
        await self.assert_refused(gateway, identity.token(sid, other_uid))

    async def test_hs256_with_the_public_key_is_refused(self, gateway, identity):
        import jwt

        sid, uid = identity.new_session()
        token = jwt.encode(
            {"sub": uid, "sid": sid, "iss": "http://gateway.test", "aud": "hspm", "iat": 1, "exp": 2**31},
            "a-secret-that-is-long-enough-for-hs256-keys",
            algorithm="HS256",
            headers={"kid": identity.keys[0].kid},
        )
        await self.assert_refused(gateway, token)

    async def test_basic_auth_is_refused(self, gateway):
        status, headers, _ = await echo(gateway, headers={"Authorization": "Basic dXNlcjpwdw=="})
        assert status == 401
        assert headers["WWW-Authenticate"] == CHALLENGE

    async def test_query_token_is_ignored_outside_websockets(self, gateway, identity):
        sid, uid = identity.new_session(["users.read"])
        _, _, body = await echo(gateway, f"/users/me?jwt={identity.token(sid, uid)}")
        assert body["principal"] is None


class TestKeyRotation:
    async def test_new_key_is_fetched_at_most_once_per_interval(self, gateway, identity, make_key):
        sid, uid = identity.new_session(["users.read"])
        await echo(gateway, headers={"Authorization": f"Bearer {identity.token(sid, uid)}"})
        await asyncio.sleep(1.1)  # past jwks_refetch_seconds of the test gateway
        # A kid of its own: the fakes outlive one gateway (the test runs once per client).
        rotated = make_key(unique("key-rotated"))
        token = identity.token(sid, uid, key=rotated)
        fetches = identity.jwks_fetches
        # Not published yet: refused, and the refetch it caused is not repeated at once.
        for _ in range(3):
            status, _, _ = await echo(gateway, headers={"Authorization": f"Bearer {token}"})
            assert status == 401
        assert identity.jwks_fetches == fetches + 1
        identity.keys.append(rotated)
        await asyncio.sleep(1.1)
        status, _, body = await echo(gateway, headers={"Authorization": f"Bearer {token}"})
        assert status == 200
        assert body["principal"]["session_id"] == sid
        assert identity.jwks_fetches == fetches + 2

    async def test_identity_down_is_503_not_401(self, start_gateway, identity):
        gw = await start_gateway(identity_url="http://127.0.0.1:9")
        sid, uid = identity.new_session()
        headers = {"Authorization": f"Bearer {identity.token(sid, uid)}"}
        status, _, body = await echo(gw, "/products", headers=headers)
        assert status == 503
        assert body["message"] == "The identity service is not available."
