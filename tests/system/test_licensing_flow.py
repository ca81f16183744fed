"""Licensing end to end through the gateway, every service a real process.

An ISV offers its product under a license and issues a voucher; a customer redeems it;
the running product, holding the customer's API token scoped to license checks alone,
asks whether it may run and is told yes; the auditor's CSV report shows that check. The
catalog learns of the offer from licensing's events, and the customer takes the license
offline and verifies it with nothing but the marketplace's public keys.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import aiohttp

from hspm.client import offline
from hspm.common.testing import unique, wait_for
from hspm.devstack.api import GatewayApi
from hspm.devstack.stack import Stack

WAIT = 30.0  # an event's way between services; far more than it takes


async def _offer(api: GatewayApi, product_id: str, license_id: str) -> dict[str, Any]:
    """The ISV's offer, once licensing has heard of the product (an event away)."""

    async def attempt() -> dict[str, Any] | None:
        status, body = await api.send(
            "POST", f"/products/{product_id}/licenses", "isv", {"license_id": license_id}
        )
        assert status in (201, 404), body
        return body if status == 201 else None

    return dict(await wait_for(attempt, WAIT))


async def _scoped_token(api: GatewayApi, persona: str, scopes: list[str]) -> str:
    me = (await api.get("/status", persona))["user"]["id"]
    body = {"name": unique("product runtime"), "scopes": scopes, "expires_in_days": 1}
    return str((await api.ok("POST", f"/users/{me}/api_tokens", persona, body))["token"])


async def test_offer_voucher_check_and_the_auditors_report(stack: Stack, tokens: dict[str, str]) -> None:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        api = GatewayApi(http, stack.config.gateway_url, dict(tokens))
        product = await api.ok("POST", "/products", "isv", {"name": unique("Licensed app")})
        pid = product["id"]
        terms = {
            "name": unique("Pilot"),
            "url": f"https://licenses.example.org/{unique('pilot')}",
            "expiry": "relative_date",
            "days_valid": 30,
            "uses": 5,
        }
        license_ = await api.ok("POST", "/licenses", "operator", terms)
        offer = await _offer(api, pid, license_["id"])

        async def offered() -> bool:
            shown = await api.get(f"/products/{pid}", "isv")
            return any(o["license_id"] == license_["id"] for o in shown["product_licenses"])

        await wait_for(offered, WAIT)

        voucher = await api.ok("POST", "/vouchers", "isv", {"product_license_id": offer["id"]})
        entitlement = await api.ok("POST", f"/vouchers/{voucher['code'].lower()}/redeem", "customer", {})
        assert entitlement["product_id"] == pid and entitlement["source"] == "voucher"
        again, _ = await api.send("POST", f"/vouchers/{voucher['code']}/redeem", "customer", {})
        assert again == 409

        api.tokens["runtime"] = await _scoped_token(api, "customer", ["authorizations.create"])
        status, claim = await api.send("PUT", f"/authorizations/products/{pid}", "runtime")
        assert status == 200, claim
        assert claim["entitlement_id"] == entitlement["id"] and claim["authorization_count"] == 1
        # The token checks licenses and nothing else, not even its holder's entitlements.
        listed, body = await api.send("GET", "/entitlements", "runtime")
        assert listed in (403, 404) or body["results"] == [], body

        status, report = await api.send(
            "GET", f"/usage_reports?product_id={pid}&format=csv", "auditor", accept="text/csv"
        )
        assert status == 200, report
        rows = list(csv.DictReader(io.StringIO(report)))
        assert len(rows) == 1 and rows[0]["grants"] == "1" and rows[0]["attempts"] == "1", rows

        status, other = await api.send("GET", f"/usage_reports?product_id={pid}", "customer")
        assert status == 403, other

        async with http.get(
            f"{stack.config.gateway_url}/entitlements/{entitlement['id']}/license",
            headers={"Authorization": f"Bearer {tokens['customer']}", "Accept": "application/json"},
        ) as resp:
            assert resp.status == 200, await resp.text()
            document = await resp.read()
        keys = offline.KeySet.from_jwks(await api.get("/.well-known/hspm-license-keys", None))
        licence = offline.verify(document, keys)
        assert licence.covers(pid) and str(licence.entitlement_id) == entitlement["id"]
