"""The token check an nginx edge asks (``/edge/auth`` on the internal listener)."""

from __future__ import annotations

import aiohttp

from hspm.common.auth import PRINCIPAL_HEADER, verify_assertion
from hspm.common.testing import TEST_INTERNAL_SECRET
from hspm.gateway import keys

CHALLENGE = 'Bearer error="invalid_token"'


async def check(gw, **headers: str) -> tuple[int, dict[str, str]]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(gw.app[keys.metrics_url] + "/edge/auth", headers=headers) as resp,
    ):
        return resp.status, dict(resp.headers)


async def test_a_valid_token_gets_the_assertion_for_the_named_service(start_gateway, identity):
    gw = await start_gateway(metrics_port=0, edge_auth=True)
    sid, uid = identity.new_session(["users.read"])
    status, headers = await check(
        gw, Authorization=f"Bearer {identity.token(sid, uid)}", **{"X-Edge-Service": "catalog"}
    )
    assert status == 200
    principal = verify_assertion(headers[PRINCIPAL_HEADER], TEST_INTERNAL_SECRET, audience="catalog")
    assert str(principal.session_id) == sid
    assert headers["X-Edge-Session"] == sid


async def test_anonymous_is_allowed_without_an_assertion(start_gateway):
    gw = await start_gateway(metrics_port=0, edge_auth=True)
    status, headers = await check(gw, **{"X-Edge-Service": "identity"})
    assert status == 200
    assert PRINCIPAL_HEADER not in headers


async def test_bad_and_revoked_tokens_are_401_with_the_challenge(start_gateway, identity):
    gw = await start_gateway(metrics_port=0, edge_auth=True)
    status, headers = await check(gw, Authorization="Bearer nope", **{"X-Edge-Service": "identity"})
    assert (status, headers["WWW-Authenticate"]) == (401, CHALLENGE)
    sid, uid = identity.new_session()
    token = identity.token(sid, uid)
    gw.app[keys.auth].revoke(sid)
    status, _ = await check(gw, Authorization=f"Bearer {token}", **{"X-Edge-Service": "identity"})
    assert status == 401


async def test_unknown_service_is_refused(start_gateway):
    gw = await start_gateway(metrics_port=0, edge_auth=True)
    status, _ = await check(gw, **{"X-Edge-Service": "nothing"})
    assert status == 400


async def test_not_served_unless_enabled(start_gateway):
    gw = await start_gateway(metrics_port=0)
    status, _ = await check(gw, **{"X-Edge-Service": "identity"})
    assert status == 404
