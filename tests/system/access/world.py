"""One seeded world per session: the dev seed's records plus the personas it lacks.

The matrix needs a record of every kind owned by the ISV owner and by the customer, and
records of a second ISV so that listings can be checked for leaks both ways. Everything
is made through the gateway, as a client would, so the world is what the API allows.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from hspm.devstack.api import GatewayApi

ISV_ROLE = "00000000-0000-4000-8000-000000000003"
VALIDATOR_ROLE = "00000000-0000-4000-8000-000000000006"
ADMIN = "admin"


@dataclass
class World:
    """Ids of the seeded records (path parameter name → the owner's record) and who owns what."""

    params: dict[str, str] = field(default_factory=dict)
    # party → ids of its records that no other non-staff party may see
    private: dict[str, set[str]] = field(default_factory=dict)
    # persona → ids of others' private records it may see by design (the licensor its licensees')
    shared_with: dict[str, set[str]] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)
    agent_key: ed25519.Ed25519PrivateKey | None = None
    other_platform: str = ""
    other_key_id: str = ""
    other_key: ed25519.Ed25519PrivateKey | None = None
    other_instance: str = ""


def public_b64(key: ed25519.Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


async def first(api: GatewayApi, path: str, persona: str = ADMIN, **match: Any) -> dict[str, Any] | None:
    """The first record of a collection (as the admin unless told), or None."""
    status, _ = await api.send("GET", path, persona)
    return None if status != 200 else await api.find(path, persona, **match)


async def new_persona(api: GatewayApi, name: str, role_id: str) -> tuple[str, str]:
    """A user holding a built-in role, and an API token of theirs (the seed's way)."""
    user = await api.ok("POST", "/users", ADMIN, {"name": name})
    await api.ok(
        "POST", f"/roles/{role_id}/appointments", ADMIN, {"entity_id": user["id"], "entity_type": "User"}
    )
    body = {"name": "access matrix", "scopes": ["*"], "expires_in_days": 1}
    token = await api.ok("POST", f"/users/{user['id']}/api_tokens", ADMIN, body)
    return str(user["id"]), str(token["token"])


async def me(api: GatewayApi, persona: str) -> str:
    return str((await api.get("/status", persona))["identity"]["user_id"])


async def build_world(api: GatewayApi, state_dir: Path) -> World:
    """Resolve the dev seed's records, then add the other ISV, the validator and their records."""
    world = World()
    world.private = {"isv": set(), "other_isv": set(), "customer": set()}
    for persona in ("customer", "isv", "operator", "auditor"):
        world.users[persona] = await me(api, persona)
    world.users["other_isv"], api.tokens["other_isv"] = await new_persona(api, "Olga Rival", ISV_ROLE)
    world.users["validator"], api.tokens["validator"] = await new_persona(api, "Vera Check", VALIDATOR_ROLE)
    world.params["other_isv_user_id"] = world.users["other_isv"]
    await _catalog(api, world)
    await _licensing(api, world, state_dir)
    await _notifier(api, world, state_dir)
    await _identity(api, world)
    await _curation(api, world)
    await _others(api, world)
    return world


async def _catalog(api: GatewayApi, world: World) -> None:
    p = world.params
    product = await first(api, "/products?name=Sepsis%20Watch")
    assert product is not None, "the dev seed's Sepsis Watch is missing"
    p["product_id"] = str(product["id"])
    base = f"/products/{p['product_id']}"
    published = await first(api, f"{base}/builds", status="published")
    assert published is not None, "the dev seed's published build of Sepsis Watch is missing"
    image = {k: published[k] for k in ("container_registry", "container_repository", "container_tag")}
    draft = await api.ok("POST", f"{base}/builds", "isv", {"version": "99.0.0-access", **image})
    p["published_build_id"], p["build_id"] = str(published["id"]), str(draft["id"])
    world.private.setdefault("isv", set()).add(p["build_id"])
    await _build_parts(api, world, f"{base}/builds/{p['build_id']}")
    await api.ok("PUT", f"{base}/builds/{p['build_id']}/asset", "isv", {})
    if (badge := await first(api, f"{base}/badges")) is not None:
        p["badge_id"] = str(badge.get("badge_id") or badge["id"])
    if (sub_product := await first(api, "/sub_products")) is not None:
        p["sub_product_id"] = str(sub_product["id"])
    if (shot := await first(api, f"{base}/screenshots")) is not None:
        p["screenshot_id"] = str(shot["id"])
    p["size"] = "small"
    interface = await api.ok(
        "POST",
        "/interfaces",
        "operator",
        {"name": "Access matrix FHIR", "uri": "http://hl7.org/fhir/access-matrix", "version": "4.0.1"},
    )
    p["interface_id"] = str(interface["id"])
    substitute = {
        "name": "Access matrix FHIR R5",
        "uri": "http://hl7.org/fhir/access-matrix-5",
        "version": "5.0.0",
    }
    other = await api.ok("POST", "/interfaces", "operator", substitute)
    path = f"/interfaces/{p['interface_id']}/surrogates"
    p["surrogate_id"] = str((await api.ok("POST", path, "operator", {"substitute_id": other["id"]}))["id"])
    mine = await api.ok("POST", "/products", "isv", {"name": "Access matrix draft of the ISV"})
    world.private["isv"].add(str(mine["id"]))
    rival = await api.ok("POST", "/products", "other_isv", {"name": "Access matrix draft of the rival"})
    world.private.setdefault("other_isv", set()).add(str(rival["id"]))


async def _build_parts(api: GatewayApi, world: World, b: str) -> None:
    """A configuration with a task, an exposure with a parameter and a dependency on the draft."""
    p = world.params
    conf = await api.ok("POST", f"{b}/configurations", "isv", {"name": "access matrix"})
    p["configuration_id"] = str(conf["id"])
    task = await api.ok(
        "POST", f"{b}/configurations/{conf['id']}/tasks", "isv", {"name": "web", "ports": [8080]}
    )
    p["task_id"] = str(task["id"])
    interface = await api.ok(
        "POST",
        "/interfaces",
        "operator",
        {"name": "Access matrix exposure", "uri": "urn:access:exposure", "version": "1"},
    )
    p["probe_interface_id"] = str(interface["id"])
    exposure = await api.ok("POST", f"{b}/exposures", "isv", {"interface_id": interface["id"]})
    p["exposure_id"] = str(exposure["id"])
    parameter = await api.ok(
        "POST", f"{b}/exposures/{exposure['id']}/parameters", "isv", {"name": "BASE_URL"}
    )
    p["parameter_id"] = str(parameter["id"])
    dependency = await api.ok(
        "POST", f"{b}/dependencies", "isv", {"interface_id": interface["id"], "name": "fhir"}
    )
    p["dependency_id"] = str(dependency["id"])


async def _licensing(api: GatewayApi, world: World, state_dir: Path) -> None:
    p = world.params
    if (lic := await first(api, "/licenses")) is not None:
        p["license_id"] = str(lic["id"])
    if (offer := await first(api, f"/products/{p['product_id']}/licenses")) is not None:
        p["product_license_id"] = str(offer["id"])
    ent = await first(api, "/entitlements", "customer", user_id=world.users["customer"])
    assert ent is not None
    p["entitlement_id"] = str(ent["id"])
    world.private["customer"].add(p["entitlement_id"])
    world.shared_with["isv"] = {p["entitlement_id"]}
    if (claim := await first(api, f"/entitlements/{p['entitlement_id']}/claims")) is not None:
        p["claim_id"] = str(claim["id"])
        world.private["customer"].add(p["claim_id"])
        world.shared_with["isv"].add(p["claim_id"])
    if "product_license_id" in p:
        # A voucher of its own: one the suite's earlier flows handed out may be the
        # customer's by now (its redeemer sees it).
        voucher = await api.ok("POST", "/vouchers", "isv", {"product_license_id": p["product_license_id"]})
        p["voucher_id"] = str(voucher["id"])
        world.private["isv"].add(p["voucher_id"])
    codes = state_dir / "demo-vouchers.json"
    if codes.exists():
        p["code"] = str(json.loads(codes.read_text())["vouchers"][-1])
    if (att := await first(api, "/attempts")) is not None:
        p["attempt_id"] = str(att["id"])
    if (group := await first(api, "/groups")) is not None:
        p["group_id"] = str(group["id"])
        if (member := await first(api, f"/groups/{p['group_id']}/members")) is not None:
            p["member_id"] = str(member["id"])


async def _notifier(api: GatewayApi, world: World, state_dir: Path) -> None:
    p = world.params
    demo = json.loads((state_dir / "demo-agent.json").read_text())
    p["platform_id"], p["key_id"], p["instance_id"] = demo["platform_id"], demo["key_id"], demo["instance_id"]
    world.private["customer"] |= {p["platform_id"], p["key_id"], p["instance_id"]}
    key = serialization.load_pem_private_key(
        (state_dir / demo["private_key_file"]).read_bytes(), password=None
    )
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    world.agent_key = key
    p["probe_public_key"] = public_b64(ed25519.Ed25519PrivateKey.generate())
    platform = await api.ok("POST", "/platforms", "other_isv", {"name": "Rival cluster"})
    world.other_platform = str(platform["id"])
    world.other_key = ed25519.Ed25519PrivateKey.generate()
    body = {"name": "rival agent", "public_key": public_b64(world.other_key)}
    world.other_key_id = str(
        (await api.ok("POST", f"/platforms/{world.other_platform}/keys", "other_isv", body))["id"]
    )
    world.private["other_isv"] |= {world.other_platform, world.other_key_id}


async def _identity(api: GatewayApi, world: World) -> None:
    p = world.params
    p["user_id"] = world.users["customer"]
    if (idp := await first(api, "/identity_providers")) is not None:
        p["idp_id"] = str(idp["id"])
    if (ident := await first(api, f"/users/{p['user_id']}/identities")) is not None:
        p["identity_id"] = str(ident["id"])
        world.private["customer"].add(p["identity_id"])
    if (tok := await first(api, f"/users/{p['user_id']}/api_tokens")) is not None:
        p["token_id"] = str(tok["id"])
        world.private["customer"].add(p["token_id"])
    p["role_id"] = ISV_ROLE
    if (app := await first(api, f"/roles/{ISV_ROLE}/appointments")) is not None:
        p["appointment_id"] = str(app["id"])


async def _curation(api: GatewayApi, world: World) -> None:
    p = world.params
    if (case := await first(api, f"/reviews?build_id={p['published_build_id']}")) is not None:
        p["case_id"] = str(case["id"])
    runs = f"/products/{p['product_id']}/builds/{p['build_id']}/validations"
    p["run_id"] = str((await api.ok("POST", runs, "isv", {}))["id"])
    body = {
        "product_id": p["product_id"],
        "build_ids": [p["published_build_id"]],
        "severity": "low",
        "reason": "access matrix",
    }
    status, recall = await api.send("POST", "/recalls", "operator", body)
    if status == 201:
        p["recall_id"] = str(recall["id"])
    elif (found := await first(api, "/recalls")) is not None:
        p["recall_id"] = str(found["id"])


async def _others(api: GatewayApi, world: World) -> None:
    p = world.params
    waiver = {"product_id": p["product_id"], "rule": "health.declared", "reason": "access matrix"}
    p["exception_id"] = str((await api.ok("POST", "/validation_policy/exceptions", "operator", waiver))["id"])
    # The customer's runtime check of the product leaves an attempt on record.
    await api.send("PUT", f"/authorizations/products/{p['product_id']}", "customer")
    if (attempt := await first(api, "/attempts")) is not None:
        p["attempt_id"] = str(attempt["id"])
    if (sur := await first(api, f"/interfaces/{p['interface_id']}/surrogates")) is not None:
        p["surrogate_id"] = str(sur["id"])


async def open_api(base: str, tokens: dict[str, str]) -> tuple[aiohttp.ClientSession, GatewayApi]:
    http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
    return http, GatewayApi(http, base, dict(tokens))
