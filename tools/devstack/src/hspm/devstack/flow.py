"""The marketplace's main flow, driven through the gateway only.

An ISV pushes an image and submits a build of a new product; the validator validates it;
an operator approves it and lists the product; the customer redeems a voucher for it,
puts the license document on its platform and deploys the build there, where a real
Platform Agent applies it; an operator recalls the build; the agent acknowledges.

Each step can be run again after any failure, until its deadline: it first looks up what
an earlier attempt may have made (a POST whose answer was lost with a killed gateway did
its work), and only then creates. ``FlowIds`` holds everything made; ``check_flow``
(``flow_check``) proves the final state in every service.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from hspm.devstack.agent_fixtures import sample
from hspm.devstack.api import ApiError, GatewayApi
from hspm.devstack.flow_agent import FlowAgent, new_key
from hspm.devstack.flow_steps import Pending, ensure, find, ok, raw, retry, send
from hspm.devstack.images import build, push

VERSION = "1.0.0"
RECALL_RANGE = ">=1.0.0 <1.0.1"
STEP_WAIT = 180.0  # a bound on one step, outages included; never a measure of speed


@dataclass
class PlatformIds:
    """A customer's platform, its agent key and the agent running for it."""

    name: str
    platform_id: str = ""
    key_id: str = ""
    agent: FlowAgent | None = None


@dataclass
class FlowIds:
    """Everything one run of the flow made; filled in as the steps go."""

    tag: str
    platform: PlatformIds
    digest: str = ""
    product_id: str = ""
    build_id: str = ""
    configuration_id: str = ""
    review_id: str = ""
    validation_id: str = ""
    license_id: str = ""
    offer_id: str = ""
    voucher_code: str = ""
    entitlement_id: str = ""
    instance_id: str = ""
    recall_id: str = ""
    done: list[str] = field(default_factory=list)

    @property
    def build_path(self) -> str:
        return f"/products/{self.product_id}/builds/{self.build_id}"


Step = Callable[[GatewayApi, FlowIds], Awaitable[None]]


async def push_image(api: GatewayApi, f: FlowIds, registry_url: str) -> None:
    """The ISV's image, its own per flow (a push of the same content is a no-op)."""
    f.digest = await push(api.http, registry_url, f"flow/{f.tag}", VERSION, build(sample(VERSION)))


async def create_product(api: GatewayApi, f: FlowIds) -> None:
    name = f"Flow {f.tag}"
    product = await ensure(
        api, "/products", "isv", {"name": name}, f"/products?name={quote(name)}", name=name
    )
    f.product_id = product["id"]


async def create_build(api: GatewayApi, f: FlowIds, registry_host: str) -> None:
    body = {
        "version": VERSION,
        "container_registry": registry_host,
        "container_repository": f"flow/{f.tag}",
        "container_tag": VERSION,
    }
    made = await ensure(api, f"/products/{f.product_id}/builds", "isv", body, version=VERSION)
    f.build_id = made["id"]
    configs = f"{f.build_path}/configurations"
    config = await ensure(api, configs, "isv", {"name": "default", "default": True}, name="default")
    f.configuration_id = config["id"]
    task = {
        "name": "web",
        "memory_maximum": 64,
        "memory_minimum": 32,
        "instances_minimum": 1,
        "instances_maximum": 2,
        "ports": [8080],
        "environment": [{"key": "APP_MODE", "required": False, "default": "validation"}],
    }
    await ensure(api, f"{configs}/{f.configuration_id}/tasks", "isv", task, name="web")


async def submit_build(api: GatewayApi, f: FlowIds) -> None:
    """Submit once: a build no longer a draft was submitted by an earlier attempt."""
    shown = await ok(api, "GET", f.build_path, "isv")
    if shown["status"] == "draft":
        await ok(api, "POST", f"{f.build_path}/submit", "isv")


async def await_validation(api: GatewayApi, f: FlowIds) -> None:
    """The validator's completed, passing run, and the case waiting for a reviewer."""
    case = await find(api, f"/reviews?build_id={f.build_id}", "operator")
    if case is None:
        raise Pending("curation has no case for the build yet")
    f.review_id = case["id"]
    if case["state"] in ("submitted", "validating"):
        raise Pending(f"review is {case['state']}")
    runs = await ok(api, "GET", f"{f.build_path}/validations", "isv")
    latest = runs["results"][0] if runs["results"] else None
    if latest is None or latest["status"] != "completed":
        raise Pending("the validation run has not completed")
    f.validation_id = latest["id"]
    if case["state"] not in ("awaiting_review", "approved", "published", "recalled"):
        raise ApiError(f"the build was not validated: {case['state']}: {latest.get('summary')}")


async def approve(api: GatewayApi, f: FlowIds) -> None:
    """Decide once; then wait for the catalog to publish the approved digest."""
    case = await ok(api, "GET", f"/reviews/{f.review_id}", "operator")
    if case["state"] == "awaiting_review":
        decision = {"decision": "approve", "reason": "All required rules pass."}
        status, body = await send(api, "POST", f"/reviews/{f.review_id}/decisions", "operator", decision)
        if status not in (200, 201, 409):  # 409: an earlier attempt decided meanwhile
            raise ApiError(f"decision: {status} {body}")
    shown = await ok(api, "GET", f.build_path, "isv")
    if not shown["published_at"]:
        raise Pending("the catalog has not published the build yet")


async def list_product(api: GatewayApi, f: FlowIds) -> None:
    shown = await ok(api, "GET", f"/products/{f.product_id}", "operator")
    if not shown["listed"]:
        await ok(api, "POST", f"/products/{f.product_id}/publish", "operator", {})


async def offer_license(api: GatewayApi, f: FlowIds) -> None:
    """The operator's license terms, the ISV's offer of the product under them (once
    licensing has heard of the product) and a voucher for the customer."""
    name = f"Flow terms {f.tag}"
    terms = {"name": name, "url": f"https://licenses.example.org/{f.tag}", "expiry": "indefinite"}
    license_ = await ensure(api, "/licenses", "operator", terms, f"/licenses?name={quote(name)}", name=name)
    f.license_id = license_["id"]
    offers = f"/products/{f.product_id}/licenses"
    offer = await ensure(api, offers, "isv", {"license_id": f.license_id}, license_id=f.license_id)
    f.offer_id = offer["id"]
    vouchers = f"/vouchers?product_license_id={f.offer_id}"
    voucher = await ensure(api, "/vouchers", "isv", {"product_license_id": f.offer_id}, vouchers)
    f.voucher_code = voucher["code"]


async def redeem(api: GatewayApi, f: FlowIds) -> None:
    """The customer's entitlement: looked up first, since a redeemed voucher answers 409.
    The customer redeems once the product's page shows the offer (the catalog's copy)."""
    shown = await ok(api, "GET", f"/products/{f.product_id}", "customer")
    if not any(o["license_id"] == f.license_id for o in shown["product_licenses"]):
        raise Pending("the catalog does not show the offer yet")
    held = await find(api, f"/entitlements?product_id={f.product_id}", "customer")
    if held is None:
        status, body = await send(api, "POST", f"/vouchers/{f.voucher_code}/redeem", "customer", {})
        if status == 409:
            raise Pending("redeemed by an earlier attempt; looking it up again")
        if status not in (200, 201):
            raise ApiError(f"redeem: {status} {body}")
        held = body
    f.entitlement_id = held["id"]


async def ensure_platform(api: GatewayApi, p: PlatformIds, root: Path) -> None:
    """The customer's platform, an agent key for it and the agent process, started."""
    platform = await ensure(api, "/platforms", "customer", {"name": p.name}, name=p.name)
    p.platform_id = platform["id"]
    if p.agent is None:
        key, public = new_key()
        keys = f"/platforms/{p.platform_id}/keys"
        made = await ensure(api, keys, "customer", {"name": "agent", "public_key": public}, name="agent")
        p.key_id = made["id"]
        p.agent = FlowAgent(root / p.name, api.base, p.platform_id, p.key_id, key)
    p.agent.start()


async def deploy(api: GatewayApi, f: FlowIds) -> None:
    """The license document on the platform, then the instance (once the notifier's
    copies show the build published and the entitlement held)."""
    agent = f.platform.agent
    assert agent is not None, "the platform has no agent"
    status, document = await raw(api, f"/entitlements/{f.entitlement_id}/license", "customer")
    if status != 200:
        raise Pending(f"license document: {status}")
    agent.add_license(f.entitlement_id, document)
    instances = f"/platforms/{f.platform.platform_id}/instances"
    found = await find(api, instances, "customer", build_id=f.build_id)
    if found is None:
        status, body = await send(api, "POST", instances, "customer", {"build_id": f.build_id})
        if status in (403, 422):  # the notifier's copies are an event behind
            raise Pending(f"instance: {status} {body}")
        if status != 201:
            raise ApiError(f"instance: {status} {body}")
        found = body
    f.instance_id = found["id"]


async def await_running(api: GatewayApi, f: FlowIds) -> None:
    """Deployed and running; or deployed and since stopped by this flow's own recall (a
    flow repeated from the start is past this step)."""
    shown = await ok(api, "GET", f"/instances/{f.instance_id}", "customer")
    if shown["deployed_at"] and shown["reported_state"] == "running":
        return
    if shown["deployed_at"] and await find(api, f"/recalls?product_id={f.product_id}", "operator"):
        return
    raise Pending(f"instance is {shown['reported_state']}: {shown.get('errors')}")


async def recall(api: GatewayApi, f: FlowIds) -> None:
    found = await find(api, f"/recalls?product_id={f.product_id}", "operator")
    if found is None:
        body = {
            "product_id": f.product_id,
            "versions": RECALL_RANGE,
            "severity": "critical",
            "reason": "Dose rounding is wrong under load.",
        }
        found = await ok(api, "POST", "/recalls", "operator", body)
    f.recall_id = found["id"]


async def await_acknowledged(api: GatewayApi, f: FlowIds) -> None:
    notices = await ok(api, "GET", f"/platforms/recalls?recall_id={f.recall_id}", "auditor")
    mine = [n for n in notices["results"] if n["platform_id"] == f.platform.platform_id]
    if not mine or not mine[0]["acknowledged_at"]:
        raise Pending("the agent has not acknowledged the recall")


def steps(registry_url: str, registry_host: str) -> list[tuple[str, Step]]:
    """The flow's steps in order, each safe to repeat."""

    async def image(api: GatewayApi, f: FlowIds) -> None:
        await push_image(api, f, registry_url)

    async def builds(api: GatewayApi, f: FlowIds) -> None:
        await create_build(api, f, registry_host)

    return [
        ("push image", image),
        ("create product", create_product),
        ("create build", builds),
        ("submit build", submit_build),
        ("validated", await_validation),
        ("approve", approve),
        ("list product", list_product),
        ("offer license", offer_license),
        ("redeem voucher", redeem),
        ("deploy", deploy),
        ("agent runs it", await_running),
        ("recall", recall),
        ("agent acknowledges", await_acknowledged),
    ]


async def run_flow(
    api: GatewayApi, f: FlowIds, registry_url: str, registry_host: str, step_wait: float = STEP_WAIT
) -> FlowIds:
    """Every step not yet done, each retried through outages for up to ``step_wait``."""
    for name, step in steps(registry_url, registry_host):
        if name in f.done:
            continue

        async def attempt(step: Step = step) -> None:
            await step(api, f)

        await retry(f"{f.tag}: {name}", attempt, time.monotonic() + step_wait)
        f.done.append(name)
    return f
