"""One journey per persona in a real browser, through the gateway, every service a process.

The ISV creates a product and submits a build by the form, and watches its validation end
(htmx polls the report); the operator approves it and publishes the product; the customer
finds it in the catalog, redeems a voucher, registers an agent key, deploys the build to a
new platform and watches the instance turn ``running`` when the platform's agent (the real
client, with only its key) reports it; the operator recalls the build and sees the platform
pending, then acknowledged once the agent says so; the auditor downloads the usage CSV.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from playwright.async_api import Page, expect

from hspm.client.agent import Agent, Item
from hspm.common.testing import unique
from hspm.devstack.api import GatewayApi
from hspm.devstack.stack import Stack
from tests.browser.conftest import SignIn

# Validation pulls and runs the image; events carry the approval to the other services.
SETTLE_MS = 120_000
UUID = r"[0-9a-f-]{36}"
# Four people's sessions one after another, each waiting for states other services settle.
pytestmark = pytest.mark.timeout(480)


async def isv_submits_a_build(page: Page, stack: Stack, name: str) -> str:
    """The build page's URL, once the ISV saw its validation pass."""
    await page.goto("/ui/vendor/products/new")
    await page.get_by_label("Name").fill(name)
    await page.get_by_label("Description").fill("A product the browser journey builds.")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(name)
    await page.get_by_label("Version").fill("1.0.0")
    await page.get_by_label("Registry").fill(stack.config.registry_host)
    await page.get_by_label("Repository").fill("samples/good")
    await page.locator("#f-container_tag").fill("1")
    await page.get_by_label("Memory limit (MiB)").fill("128")
    await page.get_by_label("Ports").fill("8080")
    await page.get_by_role("button", name="Create and submit").click()
    await page.wait_for_url(re.compile(rf"/ui/products/{UUID}/builds/{UUID}$"))
    # No reload: the report arrives through htmx's polling of the fragment.
    await expect(page.locator("#validation .outcome-passed")).to_be_visible(timeout=SETTLE_MS)
    return page.url


async def operator_approves_and_publishes(page: Page, build_url: str) -> None:
    await page.goto(build_url)
    await page.get_by_role("link", name="Open the review").click()
    await expect(page.locator("#case-state")).to_have_text("awaiting_review", timeout=SETTLE_MS)
    await page.get_by_label("Approve").check()
    await page.get_by_role("button", name="Record decision").click()
    await expect(page.locator("#case-state")).not_to_have_text("awaiting_review")
    await page.get_by_role("link", name="Publication and badges").click()
    await page.get_by_role("button", name="Publish").click()
    await expect(page.get_by_text("Published")).to_be_visible()


@dataclass(frozen=True)
class Deployment:
    platform_id: str
    platform_name: str
    key_id: str
    private: ed25519.Ed25519PrivateKey
    instance_id: str


async def customer_deploys(page: Page, name: str, voucher: str) -> Deployment:
    """The customer's new platform, its agent's key, and the instance deployed on it."""
    await page.goto("/ui/entitlements")
    await page.get_by_label("Voucher code").fill(voucher)
    await page.get_by_role("button", name="Redeem").click()
    await expect(page.get_by_role("status")).to_have_text("Voucher redeemed.")

    await page.goto("/ui/platforms")
    platform_name = unique("ward")
    await page.get_by_label("Name").fill(platform_name)
    await page.get_by_role("button", name="Create").click()
    await page.wait_for_url(re.compile(rf"/ui/platforms/{UUID}$"))
    platform_id = page.url.rsplit("/", 1)[1]
    private = ed25519.Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    await page.get_by_label("Key name").fill("ward agent")
    await page.get_by_label("Ed25519 public key").fill(base64.b64encode(public).decode())
    await page.get_by_role("button", name="Register key").click()
    await expect(page.get_by_role("cell", name="ward agent")).to_be_visible()
    key_id = await page.locator("[data-key-id]").first.get_attribute("data-key-id")
    assert key_id is not None

    await _find_in_catalog(page, name)
    await page.get_by_role("link", name="Deploy to a platform").click()
    await _deploy_when_the_notifier_knows_the_build(page, platform_name)
    return Deployment(platform_id, platform_name, key_id, private, page.url.rsplit("/", 1)[1])


async def _find_in_catalog(page: Page, name: str) -> None:
    """Search until the catalog lists it (publication reaches search as an event)."""
    for _ in range(60):
        await page.goto("/ui/")
        await page.get_by_label("Search products").fill(name)
        await page.get_by_role("button", name="Search").click()
        link = page.get_by_role("link", name=name, exact=True)
        if await link.count():
            await link.click()
            return
        await asyncio.sleep(1)
    raise AssertionError(f"{name} never appeared in the catalog")


async def _deploy_when_the_notifier_knows_the_build(page: Page, platform_name: str) -> None:
    form_url = page.url
    for _ in range(60):
        await page.get_by_label("Platform").select_option(label=platform_name)
        await page.get_by_role("button", name="Deploy").click()
        await page.wait_for_load_state()
        if "/ui/instances/" in page.url:
            return
        await asyncio.sleep(1)
        await page.goto(form_url)
    raise AssertionError("the build never became deployable")


@contextlib.asynccontextmanager
async def platform_agent(
    stack: Stack, platform_id: str, key_id: str, private: ed25519.Ed25519PrivateKey
) -> AsyncIterator[tuple[Agent, AsyncIterator[Item]]]:
    """The platform's agent (the real client, with nothing but its key), past its first resync."""
    url = stack.config.gateway_url.replace("http://", "ws://", 1) + "/websocket"
    async with aiohttp.ClientSession() as http:
        agent = Agent([url], platform_id, key_id, private)
        items = agent.items(http)
        try:
            await agent.ack(await asyncio.wait_for(anext(items), 60))
            yield agent, items
        finally:
            await items.aclose()


async def agent_reports_running(agent: Agent, items: AsyncIterator[Item], instance_id: str) -> None:
    await agent.send({"type": "report", "ref": "up", "instance_id": instance_id, "reported_state": "running"})
    while True:  # the stream tells the report back once it is stored
        item = await asyncio.wait_for(anext(items), 60)
        if item.kind != "event":
            continue
        await agent.ack(item)
        model = item.frame.get("model", {}).get("instance", {})
        if item.frame["event_type"] == "updated" and model.get("reported_state") == "running":
            return


async def operator_recalls(page: Page, product_id: str, platform_name: str) -> None:
    """The operator recalls the build and sees the platform that runs it, not yet acknowledged."""
    await page.goto(f"/ui/operator/products/{product_id}")
    await page.get_by_role("link", name="Recall builds of this product").click()
    await page.get_by_label("Versions (SemVer range)").fill("1.0.0")
    await page.get_by_label("Severity").select_option("high")
    await page.get_by_label("Reason").fill("The journey recalls what it deployed.")
    await page.get_by_role("button", name="Recall").click()
    await _reload_until(page, f"{platform_name}: pending")


async def _reload_until(page: Page, text: str) -> None:
    """The recalls page has no live part: reload it until ``text`` shows (an event away)."""
    for _ in range(60):
        if await page.get_by_text(text).count():
            return
        await asyncio.sleep(1)
        await page.reload()
    raise AssertionError(f"{text!r} never showed on {page.url}")


async def _recall_id(stack: Stack, tokens: dict[str, str], product_id: str) -> str:
    """The recall's id, which the agent names when it acknowledges (it reads it from its stream)."""
    async with aiohttp.ClientSession() as http:
        api = GatewayApi(http, stack.config.gateway_url, tokens)
        return str((await api.get(f"/recalls?product_id={product_id}", "operator"))["results"][0]["id"])


async def test_a_build_travels_from_the_isv_to_a_running_platform(
    stack: Stack, tokens: dict[str, str], sign_in: SignIn
) -> None:
    name = unique("Journey Product")
    isv = await sign_in("isv")
    build_url = await isv_submits_a_build(isv, stack, name)

    operator = await sign_in("operator")
    await operator_approves_and_publishes(operator, build_url)

    customer = await sign_in("customer")
    voucher = orjson.loads((stack.config.state_dir / "demo-vouchers.json").read_bytes())["vouchers"][-1]
    d = await customer_deploys(customer, name, voucher)
    state = customer.locator(f"#instance-{d.instance_id} [data-state]")
    await expect(state).to_have_attribute("data-state", "pending")
    async with platform_agent(stack, d.platform_id, d.key_id, d.private) as (agent, items):
        await agent_reports_running(agent, items, d.instance_id)
        # The instance page polls its row: "running" arrives without a reload.
        await expect(state).to_have_attribute("data-state", "running", timeout=SETTLE_MS)

        product_id = re.findall(UUID, build_url)[0]
        await operator_recalls(operator, product_id, d.platform_name)
        recall_id = await _recall_id(stack, tokens, product_id)
        await agent.send({"type": "recall_ack", "recall_id": recall_id, "ref": "seen"})
        await _reload_until(operator, f"{d.platform_name}: acknowledged")

    auditor = await sign_in("auditor")
    await auditor.goto("/ui/reports")
    async with auditor.expect_download() as download:
        await auditor.get_by_role("link", name="Download CSV").click()
    csv_path = await (await download.value).path()
    assert csv_path is not None
    header = csv_path.read_text().splitlines()[0]
    assert header.startswith("product_id,product_name,")
