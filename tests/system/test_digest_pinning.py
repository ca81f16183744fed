"""What was approved is what runs: a build is pinned to the digest the validator judged.

An ISV submits a build by tag; the validator resolves the tag to a manifest digest and
judges those bytes; the operator approves. Then the tag is moved to other bytes. The
published build, its ``marketplace.json`` export and a re-validation must all still name
(and run) the approved digest. The product stays a draft, so its owner reads the
published build; customers of a listed product are offered the same record.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import orjson

from hspm.common.testing import unique
from hspm.devstack.api import GatewayApi
from hspm.devstack.images import build, push, samples
from hspm.devstack.stack import Stack

WAIT = 60.0


async def _until(probe: Any, what: str) -> Any:
    """Poll ``probe`` until it returns something; fail after ``WAIT`` seconds (a hung flow)."""
    deadline = asyncio.get_running_loop().time() + WAIT
    while True:
        found = await probe()
        if found:
            return found
        assert asyncio.get_running_loop().time() < deadline, f"no {what} within {WAIT} s"
        await asyncio.sleep(0.5)


async def _push_sample(stack: Stack, repository: str, sample: str) -> str:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        return await push(http, stack.registry.url, repository, "1", build(samples()[sample]))


async def _submit(api: GatewayApi, stack: Stack, repository: str) -> tuple[str, str]:
    product = await api.ok("POST", "/products", "isv", {"name": unique("Pinned app")})
    pid = product["id"]
    created = {
        "version": "1.0.0",
        "container_registry": stack.config.registry_host,
        "container_repository": repository,
        "container_tag": "1",
    }
    bid = (await api.ok("POST", f"/products/{pid}/builds", "isv", created))["id"]
    at = f"/products/{pid}/builds/{bid}"
    config = await api.ok("POST", f"{at}/configurations", "isv", {"name": "default", "default": True})
    task = {"name": "web", "memory_maximum": 64, "ports": [8080]}
    await api.ok("POST", f"{at}/configurations/{config['id']}/tasks", "isv", task)
    await api.ok("POST", f"{at}/submit", "isv")
    return pid, bid


async def _completed_run(api: GatewayApi, at: str, newer_than: str | None = None) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        runs = (await api.ok("GET", f"{at}/validations", "operator"))["results"]
        latest = runs[0] if runs else None
        if latest and latest["status"] == "completed" and latest["id"] != newer_than:
            return latest
        return None

    return await _until(probe, "completed validation run")


async def test_moving_the_tag_after_approval_changes_nothing_published(
    stack: Stack, tokens: dict[str, str]
) -> None:
    repository = f"pinned/{unique('app')}"
    approved_digest = await _push_sample(stack, repository, "good")
    async with aiohttp.ClientSession() as http:
        api = GatewayApi(http, stack.config.gateway_url, tokens)
        pid, bid = await _submit(api, stack, repository)
        at = f"/products/{pid}/builds/{bid}"
        first = await _completed_run(api, at)
        assert first["outcome"] == "passed", first["summary"]
        assert first["digest"] == approved_digest

        review = (await api.ok("GET", f"/reviews?build_id={bid}", "operator"))["results"][0]
        decision = {"decision": "approve", "reason": "Report read; all required rules pass."}
        await api.ok("POST", f"/reviews/{review['id']}/decisions", "operator", decision)

        async def published() -> dict[str, Any] | None:
            status, body = await api.send("GET", at, "isv")
            return body if status == 200 and body["published_at"] else None

        build_view = await _until(published, "published build")
        assert build_view["image_digest"] == approved_digest

        # The ISV moves the tag to other bytes.
        moved_digest = await _push_sample(stack, repository, "no-health")
        assert moved_digest != approved_digest

        after = await api.ok("GET", at, "isv")
        assert after["image_digest"] == approved_digest
        status, exported = await api.send("GET", f"{at}/marketplace.json", "isv")
        assert status == 200, exported
        text = orjson.dumps(exported).decode()
        assert f"{repository}@{approved_digest}" in text
        assert moved_digest not in text

        # Re-validation judges the pinned bytes, not what the tag names now.
        await api.ok("POST", f"{at}/validations", "operator")
        again = await _completed_run(api, at, newer_than=first["id"])
        assert again["digest"] == approved_digest
        assert again["outcome"] == "passed", again["summary"]
        still = await api.ok("GET", at, "isv")
        assert still["image_digest"] == approved_digest
