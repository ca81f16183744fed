"""A real OpenID Connect login through the gateway, ending in a token the gateway accepts."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import jwt
import pytest

from hspm.common.testing import wait_for
from hspm.devstack.api import RATE_LIMIT_RETRIES, retry_after
from hspm.devstack.login import LoginFailed, browser_login
from hspm.devstack.stack import Stack


async def _get(url: str, token: str | None = None) -> tuple[int, Any, dict[str, str]]:
    """The answer to a GET; a 429 (the suite shares one client address) is waited out."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as http:
        for _ in range(RATE_LIMIT_RETRIES):
            async with http.get(url, headers=headers) as resp:
                if resp.status != 429:
                    return resp.status, await resp.json(content_type=None), dict(resp.headers)
                await asyncio.sleep(retry_after(resp.headers.get("Retry-After")))
    raise AssertionError(f"GET {url}: still rate-limited after {RATE_LIMIT_RETRIES} tries")


async def _local_idp(stack: Stack) -> str:
    status, body, _ = await _get(f"{stack.config.gateway_url}/identity_providers")
    assert status == 200
    [idp] = [p for p in body["results"] if p["issuer"] == stack.config.oidc_issuer]
    assert "client_secret" not in idp  # anonymous callers never see secrets
    return str(idp["id"])


class TestOpenIDConnectLogin:
    async def test_login_yields_a_token_the_gateway_accepts(self, stack: Stack) -> None:
        idp_id = await _local_idp(stack)
        session = await browser_login(stack.config.gateway_url, idp_id, "isv", "isv-demo-password")
        assert session["authorization"] == f"Bearer {session['jwt']}"
        status, body, _ = await _get(f"{stack.config.gateway_url}/status", session["jwt"])
        assert status == 200
        assert body["identity"]["user"]["name"] == "Ivan Vendor"
        assert body["identity"]["provider"]["id"] == idp_id
        assert body["permissions"]["products"]["create"] is True
        assert body["permissions"]["everything"]["manage"] is False

    async def test_same_account_logs_into_the_same_user(self, stack: Stack, tokens: dict[str, str]) -> None:
        idp_id = await _local_idp(stack)
        session = await browser_login(stack.config.gateway_url, idp_id, "customer", "customer-demo-password")
        _, via_login, _ = await _get(f"{stack.config.gateway_url}/status", session["jwt"])
        _, via_seed, _ = await _get(f"{stack.config.gateway_url}/status", tokens["customer"])
        assert via_login["identity"]["user_id"] == via_seed["identity"]["user_id"]

    async def test_wrong_password_gets_no_token(self, stack: Stack) -> None:
        idp_id = await _local_idp(stack)
        with pytest.raises(LoginFailed) as failure:
            await browser_login(stack.config.gateway_url, idp_id, "isv", "not-the-password")
        assert failure.value.status == 401

    async def test_a_replayed_callback_is_refused(self, stack: Stack) -> None:
        status, body, _ = await _get(f"{stack.config.gateway_url}/sessions?code=abc&state=never-issued")
        assert status == 400
        assert "start again" in body["detail"]

    async def test_logout_revokes_the_token_at_once(self, stack: Stack) -> None:
        idp_id = await _local_idp(stack)
        session = await browser_login(stack.config.gateway_url, idp_id, "auditor", "auditor-demo-password")
        token = session["jwt"]
        assert (await _get(f"{stack.config.gateway_url}/status", token))[0] == 200
        async with (
            aiohttp.ClientSession() as http,
            http.delete(
                f"{stack.config.gateway_url}/sessions", headers={"Authorization": f"Bearer {token}"}
            ) as resp,
        ):
            assert resp.status == 200
            assert (await resp.json())["message"] == "Logged out."

        async def refused() -> bool:
            return (await _get(f"{stack.config.gateway_url}/status", token))[0] == 401

        assert await wait_for(refused, timeout=5)


class TestTokensTheGatewayRefuses:
    def _claims(self, stack: Stack, **override: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": stack.config.gateway_url,
            "aud": "hspm",
            "sub": "5d7eb3e6-0000-4000-8000-000000000000",
            "sid": "5d7eb3e6-0000-4000-8000-000000000001",
            "kind": "api",
            "iat": now,
            "exp": now + 600,
        }
        return claims | override

    @pytest.mark.parametrize(
        "case",
        ["forged_key", "expired", "wrong_issuer", "wrong_audience", "tampered", "garbage", "unknown_session"],
    )
    async def test_refused_with_401(self, stack: Stack, tokens: dict[str, str], case: str) -> None:
        from cryptography.hazmat.primitives.asymmetric import ec

        real_key = (stack.config.state_dir / "signing-key.pem").read_text()
        kid = jwt.get_unverified_header(tokens["isv"])["kid"]
        sign = lambda claims, key=real_key: jwt.encode(claims, key, "ES256", headers={"kid": kid})  # noqa: E731
        token = {
            "forged_key": sign(self._claims(stack), ec.generate_private_key(ec.SECP256R1())),
            "expired": sign(self._claims(stack, exp=int(time.time()) - 60)),
            "wrong_issuer": sign(self._claims(stack, iss="https://evil.example")),
            "wrong_audience": sign(self._claims(stack, aud="someone-else")),
            "tampered": tokens["isv"][:-6] + ("AAAAAA" if not tokens["isv"].endswith("AAAAAA") else "BBBBBB"),
            "garbage": "not-a-jwt",
            "unknown_session": sign(self._claims(stack)),
        }[case]
        status, body, headers = await _get(f"{stack.config.gateway_url}/status", token)
        assert status == 401, body
        assert "Bearer" in headers.get("WWW-Authenticate", "")
