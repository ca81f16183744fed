"""Permissions end to end: 403 without a permission, nothing of others' records, live role changes."""

from __future__ import annotations

from typing import Any

import aiohttp

from hspm.common.testing import wait_for
from hspm.devstack.stack import Stack

AUDITOR_ROLE = "00000000-0000-4000-8000-000000000005"


async def _call(stack: Stack, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, stack.config.gateway_url + path, headers=headers, json=body) as resp,
    ):
        data = await resp.json(content_type=None) if resp.content_length != 0 else None
        return resp.status, data


async def _me(stack: Stack, token: str) -> str:
    status, body = await _call(stack, "GET", "/status", token)
    assert status == 200
    return str(body["identity"]["user_id"])


class TestPersonas:
    async def test_customer_lacks_users_read(self, stack: Stack, tokens: dict[str, str]) -> None:
        status, body = await _call(stack, "GET", "/users", tokens["customer"])
        assert status == 403
        assert "users.read" in body["detail"]

    async def test_customer_sees_nothing_of_another_user(self, stack: Stack, tokens: dict[str, str]) -> None:
        isv_id = await _me(stack, tokens["isv"])
        for path in (f"/users/{isv_id}", f"/users/{isv_id}/identities", f"/users/{isv_id}/api_tokens"):
            status, body = await _call(stack, "GET", path, tokens["customer"])
            assert status == 404, (path, body)
            assert "Ivan" not in str(body)

    async def test_everyone_reads_self(self, stack: Stack, tokens: dict[str, str]) -> None:
        for persona, token in tokens.items():
            me = await _me(stack, token)
            status, body = await _call(stack, "GET", f"/users/{me}", token)
            assert status == 200, persona
            assert body["id"] == me

    async def test_auditor_reads_users_but_cannot_write(self, stack: Stack, tokens: dict[str, str]) -> None:
        assert (await _call(stack, "GET", "/users", tokens["auditor"]))[0] == 200
        status, _ = await _call(stack, "POST", "/roles", tokens["auditor"], {"role": {"name": "sneaky"}})
        assert status == 403

    async def test_anonymous_gets_401_on_protected_routes(self, stack: Stack) -> None:
        async with aiohttp.ClientSession() as http, http.get(f"{stack.config.gateway_url}/users") as resp:
            assert resp.status == 401


class TestRoleChangesTakeEffect:
    async def test_appointment_and_dismissal_reach_the_gateway_within_seconds(
        self, stack: Stack, tokens: dict[str, str]
    ) -> None:
        customer = await _me(stack, tokens["customer"])
        assert (await _call(stack, "GET", "/users", tokens["customer"]))[0] == 403
        status, appointment = await _call(
            stack,
            "POST",
            f"/roles/{AUDITOR_ROLE}/appointments",
            tokens["admin"],
            {"appointment": {"entity_id": customer, "entity_type": "User"}},
        )
        assert status == 201, appointment

        async def can_list() -> bool:
            return (await _call(stack, "GET", "/users", tokens["customer"]))[0] == 200

        await wait_for(can_list, timeout=5)
        status, _ = await _call(
            stack, "DELETE", f"/roles/{AUDITOR_ROLE}/appointments/{appointment['id']}", tokens["admin"]
        )
        assert status == 204

        async def refused_again() -> bool:
            return (await _call(stack, "GET", "/users", tokens["customer"]))[0] == 403

        await wait_for(refused_again, timeout=5)


class TestTheWebUi:
    async def test_the_gateway_serves_its_pages_to_anyone(self, stack: Stack) -> None:
        url = f"{stack.config.gateway_url}/ui/"
        async with aiohttp.ClientSession() as http, http.get(url) as resp:
            assert resp.status == 200
            assert resp.content_type == "text/html"
            assert "<main" in await resp.text()
