"""A demo platform for ``make up`` and the system tests, seeded through the public API.

After licensing's seed: the demo customer declares a platform, registers a platform
agent's Ed25519 key and deploys the published build of Sepsis Watch on it (the customer's
demo subscription entitles them to). The agent's private key is made on the first run and
kept in the stack's state dir only (``demo-agent-key.pem``, mode 600), beside
``demo-agent.json`` (the platform, the key's id, the WebSocket URL): everything a local
agent needs to connect, and no secret in the repository.

Running it twice changes nothing: the platform is found by name, the key by its public
half, the instance by its build.
"""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from hspm.devstack.api import ApiError, GatewayApi
from hspm.devstack.private import write_private

PLATFORM = "St. Elsewhere Sepsis Cluster"
PRODUCT = "Sepsis Watch"
KEY_NAME = "demo agent"
KEY_FILE = "demo-agent-key.pem"
SUMMARY_FILE = "demo-agent.json"
# The notifier learns of builds and entitlements from events: the first deployment may
# have to wait for them.
DEPLOY_TIMEOUT = 90.0


async def seed_notifier(gateway_url: str, tokens_file: Path, products: dict[str, str]) -> dict[str, str]:
    """Seed (or complete) the demo platform; ``products`` maps demo names to ids."""
    tokens: dict[str, str] = json.loads(await asyncio.to_thread(tokens_file.read_text))
    key_file = tokens_file.with_name(KEY_FILE)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        api = GatewayApi(http, gateway_url, tokens)
        platform = await _platform(api)
        key_id = await _agent_key(api, platform["id"], key_file)
        instance = await _instance(api, platform["id"], await _published_build(api, products[PRODUCT]))
    summary = {
        "platform_id": str(platform["id"]),
        "key_id": key_id,
        "private_key_file": KEY_FILE,
        "websocket_url": gateway_url.replace("http", "ws", 1) + "/websocket",
        "instance_id": str(instance["id"]),
    }
    out = tokens_file.with_name(SUMMARY_FILE)
    await asyncio.to_thread(out.write_text, json.dumps(summary, indent=2) + "\n")
    return summary


async def _platform(api: GatewayApi) -> dict[str, Any]:
    lookup = f"/platforms?name={quote(PLATFORM)}"
    return await api.ensure("/platforms", "customer", {"name": PLATFORM}, lookup=lookup, name=PLATFORM)


def _load_or_make_key(path: Path, fresh: bool) -> ed25519.Ed25519PrivateKey:
    """The agent's key from the state dir; a new one (written with mode 600) if there is
    none or ``fresh`` is asked for."""
    if path.exists() and not fresh:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise ApiError(f"{path} does not hold an Ed25519 private key")
        return key
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    write_private(path, pem)
    return key


def _public(key: ed25519.Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


async def _agent_key(api: GatewayApi, platform_id: str, key_file: Path) -> str:
    """The id of the platform's active key whose private half is ``key_file``. A key revoked
    since the last run (or a state dir from another stack) is replaced by a new one."""
    keys = f"/platforms/{platform_id}/keys"
    for fresh in (False, True):
        public = _public(await asyncio.to_thread(_load_or_make_key, key_file, fresh))
        found = await api.find(keys, "customer", public_key=public, revoked_at=None)
        if found is not None:
            return str(found["id"])
        body = {"name": KEY_NAME, "public_key": public}
        status, created = await api.call("POST", keys, "customer", body, ok=(201, 409))
        if status == 201:
            return str(created["id"])
    raise ApiError(f"POST {keys}: a new key was refused as well")


async def _published_build(api: GatewayApi, product_id: str) -> str:
    build = await api.find(f"/products/{product_id}/builds", "customer", status="published")
    if build is None:
        raise ApiError(f"{PRODUCT} has no published build to deploy")
    return str(build["id"])


async def _instance(api: GatewayApi, platform_id: str, build_id: str) -> dict[str, Any]:
    """The platform's instance of the build; created once the notifier lets the customer
    (its read copies of the build and the entitlement are events away from the seed)."""
    path = f"/platforms/{platform_id}/instances"
    deadline = asyncio.get_running_loop().time() + DEPLOY_TIMEOUT
    while True:
        found = await api.find(path, "customer", build_id=build_id)
        if found is not None:
            return found
        status, body = await api.call("POST", path, "customer", {"build_id": build_id}, ok=(201, 403, 422))
        if status == 201:
            return dict(body)
        if asyncio.get_running_loop().time() > deadline:
            raise ApiError(f"POST {path} as customer: still {status} after {DEPLOY_TIMEOUT}s: {body}")
        await asyncio.sleep(0.5)
