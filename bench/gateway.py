"""The gateway's proxied throughput for a cheap authenticated endpoint vs calling it directly.

Endpoint: ``GET /users/{self}`` on identity (token → principal → one primary-key read).
Direct: identity with the gateway's principal assertion. Proxied: the gateway with the
persona's bearer token (JWT verified, principal cached, assertion forwarded).
"""

from __future__ import annotations

from typing import Any

import aiohttp

from bench.wrk import Run, median_run, wrk
from hspm.common.auth import Principal, sign_assertion
from hspm.devstack.stack import Stack

ROUNDS = 3
TARGET_RATIO = 0.70


async def _me(stack: Stack, token: str) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{stack.config.gateway_url}/status", headers={"Authorization": f"Bearer {token}"}) as resp,
    ):
        body: dict[str, Any] = await resp.json()
    return body


async def run(stack: Stack, tokens: dict[str, str]) -> dict[str, Any]:
    token = tokens["customer"]
    me = await _me(stack, token)
    user_id = me["identity"]["user_id"]
    perms = {f"{r}.{v}" for r, verbs in me["permissions"].items() for v, ok in verbs.items() if ok}
    from uuid import UUID

    principal = Principal(kind="user", user_id=UUID(user_id), name="bench", permissions=frozenset(perms))
    assertion = sign_assertion(principal, stack.internal_secret, ttl=3600, audience="identity")
    direct_url = f"http://127.0.0.1:{stack.config.ports['identity']}/users/{user_id}"
    proxied_url = f"{stack.config.gateway_url}/users/{user_id}"
    # Warm both paths (JWKS, principal cache, connection pools) before measuring.
    await wrk(direct_url, {"X-HSPM-Principal": assertion}, seconds=2)
    await wrk(proxied_url, {"Authorization": f"Bearer {token}"}, seconds=2)
    direct: list[Run] = []
    proxied: list[Run] = []
    # Interleaved so a noisy neighbour hurts both sides alike.
    for _ in range(ROUNDS):
        direct.append(await wrk(direct_url, {"X-HSPM-Principal": assertion}))
        proxied.append(await wrk(proxied_url, {"Authorization": f"Bearer {token}"}))
    d, p = median_run(direct), median_run(proxied)
    return {
        "benchmark": "gateway proxied vs direct, GET /users/{self} (authenticated)",
        "direct": d.__dict__,
        "proxied": p.__dict__,
        "ratio": round(p.rps / d.rps, 3),
        "target_ratio": TARGET_RATIO,
        "rounds": ROUNDS,
    }
