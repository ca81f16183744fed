"""Demo licensing for ``make up`` and the system tests, seeded through the public API.

After the catalog's seed: the operator declares licenses of every expiry type, the ISV
offers its products under them, the operator grants the customer a subscription, the
customer shares it with a group they belong to (a group claim), and the ISV issues
evaluation vouchers whose codes are written to ``demo-vouchers.json`` beside the tokens.

Running it twice changes nothing: licenses are found by name, offers by license,
entitlements by user and offer, the group by name, vouchers by offer.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

from hspm.devstack.api import ApiError, GatewayApi

# One of every expiry type; ``uses`` 0 is unlimited.
LICENSES: tuple[dict[str, Any], ...] = (
    {
        "name": "Apache License 2.0",
        "url": "https://www.apache.org/licenses/LICENSE-2.0",
        "expiry": "indefinite",
        "description": "Open source: use without time limit.",
    },
    {
        "name": "Annual Subscription",
        "url": "https://marketplace.example.org/licenses/annual-subscription",
        "expiry": "relative_date",
        "days_valid": 365,
        "description": "One year from activation, renewed by a new entitlement.",
    },
    {
        "name": "30-Day Evaluation",
        "url": "https://marketplace.example.org/licenses/evaluation-30",
        "expiry": "relative_date",
        "days_valid": 30,
        "uses": 500,
        "description": "Thirty days from activation and at most 500 launches.",
    },
    {
        "name": "Sepsis Pilot Programme 2027",
        "url": "https://marketplace.example.org/licenses/sepsis-pilot-2027",
        "expiry": "absolute_date",
        "expires_at": "2028-01-01T00:00:00Z",
        "description": "Participating hospitals until the end of 2027.",
    },
)

# product → the licenses it is offered under
OFFERS: dict[str, tuple[str, ...]] = {
    "Sepsis Watch": ("Annual Subscription", "30-Day Evaluation", "Sepsis Pilot Programme 2027"),
    "Sepsis Early Warning CDS Service": ("Annual Subscription",),
    "Cardinal FHIR Server": ("Apache License 2.0",),
    "SEP-1 Sepsis Bundle Measures (CQL)": ("Apache License 2.0",),
}
GROUP = "St. Elsewhere Sepsis Team"
VOUCHERS = 3


async def seed_licensing(gateway_url: str, tokens_file: Path, products: dict[str, str]) -> dict[str, Any]:
    """Seed (or complete) demo licensing; ``products`` maps demo names to ids."""
    tokens: dict[str, str] = json.loads(await asyncio.to_thread(tokens_file.read_text))
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        api = GatewayApi(http, gateway_url, tokens)
        licenses = {body["name"]: await _license(api, body) for body in LICENSES}
        offers: dict[tuple[str, str], str] = {}
        for product, names in OFFERS.items():
            for name in names:
                offers[(product, name)] = await _offer(api, products[product], licenses[name])
        customer = await _user_id(api, "customer")
        subscription = await _entitlement(api, customer, offers[("Sepsis Watch", "Annual Subscription")])
        group = await _group_with(api, GROUP, customer)
        await _group_claim(api, subscription, group)
        codes = await _vouchers(api, offers[("Sepsis Watch", "30-Day Evaluation")])
    summary = {"subscription": subscription, "group": group, "vouchers": codes}
    out = tokens_file.with_name("demo-vouchers.json")
    await asyncio.to_thread(out.write_text, json.dumps(summary, indent=2) + "\n")
    return summary


async def _license(api: GatewayApi, body: dict[str, Any]) -> str:
    name = body["name"]
    found = await api.ensure("/licenses", "operator", body, lookup=f"/licenses?name={quote(name)}", name=name)
    return str(found["id"])


async def _offer(api: GatewayApi, product_id: str, license_id: str) -> str:
    at = f"/products/{product_id}/licenses"
    found = await api.ensure(at, "isv", {"license_id": license_id}, license_id=license_id)
    return str(found["id"])


async def _user_id(api: GatewayApi, persona: str) -> str:
    status = await api.get("/status", persona)
    user = status.get("user") or {}
    if "id" not in user:
        raise ApiError(f"/status as {persona} names no user: {json.dumps(status)[:500]}")
    return str(user["id"])


async def _entitlement(api: GatewayApi, user_id: str, offer_id: str) -> str:
    lookup = f"/entitlements?user_id={user_id}&product_license_id={offer_id}"
    body = {"user_id": user_id, "product_license_id": offer_id}
    found = await api.ensure("/entitlements", "operator", body, lookup=lookup, product_license_id=offer_id)
    return str(found["id"])


async def _group_with(api: GatewayApi, name: str, user_id: str) -> str:
    lookup = f"/groups?name={quote(name)}"
    group = await api.ensure("/groups", "admin", {"name": name}, lookup=lookup, name=name)
    members = f"/groups/{group['id']}/members"
    await api.ensure(members, "admin", {"user_id": user_id}, user_id=user_id)
    return str(group["id"])


async def _group_claim(api: GatewayApi, entitlement_id: str, group_id: str) -> None:
    at = f"/entitlements/{entitlement_id}/claims"
    body = {"claimant_type": "Group", "claimant_id": group_id}
    await api.ensure(at, "customer", body, claimant_id=group_id)


async def _vouchers(api: GatewayApi, offer_id: str) -> list[str]:
    """Unredeemed evaluation codes: the ones issued before, else ``VOUCHERS`` new ones."""
    existing = [
        v["code"]
        async for v in api.each(f"/vouchers?product_license_id={offer_id}", "isv")
        if v.get("redeemed_at") is None and v.get("code")
    ]
    if existing:
        return existing
    expires = datetime(datetime.now(UTC).year + 1, 12, 31, tzinfo=UTC).isoformat()
    body = {"product_license_id": offer_id, "count": VOUCHERS, "expires_at": expires}
    created = await api.ok("POST", "/vouchers", "isv", body)
    records = created["results"] if isinstance(created, dict) and "results" in created else created
    return [str(v["code"]) for v in records]
