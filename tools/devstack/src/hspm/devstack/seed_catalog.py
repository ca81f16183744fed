"""A demo catalog for ``make up`` and the system tests, seeded through the public API.

Everything goes through the gateway with the demo personas' API tokens (identity's seed
writes them): the ISV owns the products and their builds, the operator declares
interfaces and badges, awards badges and publishes products. Each product's build is
described by a ``marketplace.json`` under ``demo/``: imported as it is
(``POST /products/{id}/builds/import``), or, for products that expose interfaces (an
import cannot declare exposures), assembled from the same document through the builds
API and submitted.

A submitted build goes through curation like any other: the validator pulls its image
from the stack's local registry, checks it and runs it in the sandbox, and the case
waits for review. The seed then approves, as the operator, the builds of products the
demo lists, and waits until the catalog shows them published; the draft product's build
stays in the review queue for an operator to try.

Running it twice changes nothing: every record is looked up by name (builds by version)
before it is created, and a 422 "has already been taken" counts as found.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

from hspm.devstack.api import TAKEN, ApiError, GatewayApi

DEMO = resources.files("hspm.devstack") / "demo"
EMBARGO = timedelta(days=90)
PUBLISH_TIMEOUT = 90.0
# Review states in which the seed still has work to do for a build it submitted.
IN_REVIEW = frozenset({"submitted", "validating", "awaiting_review"})

# name, uri, version
INTERFACES: tuple[tuple[str, str, str], ...] = (
    ("FHIR R4", "https://hl7.org/fhir/R4/", "4.0.1"),
    ("CDS Hooks 1.0", "https://cds-hooks.hl7.org/1.0/", "1.0"),
    ("SMART App Launch 2.0", "https://hl7.org/fhir/smart-app-launch/", "2.0.0"),
    ("CQL 1.5", "https://cql.hl7.org/", "1.5.3"),
)

# name, description
BADGES: tuple[tuple[str, str], ...] = (
    (
        "Clinical Safety Reviewed",
        "Endorsed by the Marketplace Clinical Safety Board after a review of the product's "
        "clinical content, alerting thresholds and failure modes.",
    ),
    (
        "FHIR Conformance Tested",
        "Endorsed by the FHIR Conformance Lab: the build passed the operator's FHIR R4 and "
        "SMART App Launch 2.0 conformance suites.",
    ),
)


@dataclass(frozen=True)
class DemoProduct:
    """One demo product: its listing, its build's document and where it ends up."""

    name: str
    description: str
    mime_type: str
    document: str  # file under demo/
    version: str
    state: str  # "listed", "embargoed" or "draft"
    uri: str | None = None
    support_url: str | None = None
    exposes: dict[str, tuple[str, ...]] = field(default_factory=dict)  # interface → parameters
    badges: dict[str, str] = field(default_factory=dict)  # badge → reason
    draft_builds: tuple[str, ...] = ()  # further versions left as drafts

    @property
    def published_builds(self) -> bool:
        return self.state != "draft"


PRODUCTS: tuple[DemoProduct, ...] = (
    DemoProduct(
        name="Sepsis Watch",
        description=(
            "A SMART on FHIR app for emergency and ward clinicians: it charts qSOFA, SIRS "
            "criteria and lactate trends for the patient in context and raises an early "
            "sepsis warning when the score crosses the site's threshold. Includes the Sepsis "
            "Early Warning CDS Service and the SEP-1 bundle measures."
        ),
        mime_type="application/vnd.docker+smart",
        document="sepsis-watch.json",
        version="2.3.0",
        state="listed",
        uri="https://riverbend.example/sepsis-watch",
        support_url="https://riverbend.example/support",
        badges={"Clinical Safety Reviewed": "Alert thresholds reviewed against Sepsis-3 definitions."},
    ),
    DemoProduct(
        name="Sepsis Early Warning CDS Service",
        description=(
            "A CDS Hooks service answering patient-view and order-select with a sepsis risk "
            "card, suggested lactate and blood culture orders, and a link to launch Sepsis "
            "Watch. A nightly task recalibrates the risk model on local outcomes."
        ),
        mime_type="application/x-cds-hooks",
        document="sepsis-alert-cds.json",
        version="1.4.1",
        state="listed",
        uri="https://riverbend.example/sepsis-cds",
        support_url="https://riverbend.example/support",
        exposes={"CDS Hooks 1.0": ("CDS_JWT_ISSUERS",)},
    ),
    DemoProduct(
        name="Cardinal FHIR Server",
        description=(
            "An open-source FHIR R4 server with a SMART App Launch 2.0 authorization server, "
            "bulk data export and PostgreSQL storage, sized for a community hospital."
        ),
        mime_type="application/vnd.docker+fhir",
        document="cardinal-fhir-server.json",
        version="4.0.2",
        state="listed",
        uri="https://cardinal-fhir.example",
        support_url="https://forum.cardinal-fhir.example",
        exposes={"FHIR R4": ("FHIR_BASE_URL",), "SMART App Launch 2.0": ()},
        badges={"FHIR Conformance Tested": "Passed the FHIR R4 and SMART App Launch 2.0 suites."},
        draft_builds=("4.1.0-rc.1",),
    ),
    DemoProduct(
        name="SEP-1 Sepsis Bundle Measures (CQL)",
        description=(
            "CQL 1.5 libraries computing the SEP-1 severe sepsis and septic shock bundle "
            "measures (3-hour and 6-hour) over FHIR R4 data. Embargoed until the next "
            "measurement period opens."
        ),
        mime_type="application/x-cql+zip",
        document="sepsis-measures-cql.json",
        version="2025.1.0",
        state="embargoed",
        uri="https://riverbend.example/measures/sep-1",
    ),
    DemoProduct(
        name="Adult Sepsis Care Pathway (KNART)",
        description=(
            "An HL7 CDS Knowledge Artifact (KNART) describing the adult sepsis care pathway: "
            "screening, the hour-1 bundle and escalation. A draft still being written."
        ),
        mime_type="application/x-knart",
        document="sepsis-pathway-knart.json",
        version="0.9.0",
        state="draft",
    ),
)

# parent → children: an entitlement to the parent covers the children.
SUB_PRODUCTS: dict[str, tuple[str, ...]] = {
    "Sepsis Watch": ("Sepsis Early Warning CDS Service", "SEP-1 Sepsis Bundle Measures (CQL)"),
}


def demo_document(name: str, values: dict[str, str]) -> dict[str, Any]:
    """A demo ``marketplace.json`` with its ``$PLACEHOLDER`` strings filled in."""
    document: dict[str, Any] = json.loads((DEMO / name).read_text())

    def fill(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: fill(v) for k, v in node.items()}
        if isinstance(node, list):
            return [fill(v) for v in node]
        if isinstance(node, str) and node.startswith("$") and node in values:
            return values[node]
        if isinstance(node, str) and "$REGISTRY" in node:
            return node.replace("$REGISTRY", values["$REGISTRY"])
        return node

    filled: dict[str, Any] = fill(document)
    return filled


async def seed_catalog(gateway_url: str, tokens_file: Path, registry: str) -> dict[str, str]:
    """Seed (or complete) the demo catalog; returns product names → ids."""
    tokens: dict[str, str] = json.loads(await asyncio.to_thread(tokens_file.read_text))
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        api = GatewayApi(http, gateway_url, tokens)
        interfaces = {
            name: (
                await api.ensure(
                    "/interfaces",
                    "operator",
                    {"name": name, "uri": uri, "version": version},
                    lookup=f"/interfaces?name={quote(name)}",
                    name=name,
                )
            )["id"]
            for name, uri, version in INTERFACES
        }
        badges: dict[str, str] = {}
        for name, about in BADGES:
            badge = await api.ensure("/badges", "operator", {"name": name, "description": about}, name=name)
            badges[name] = badge["id"]
        products: dict[str, dict[str, Any]] = {}
        for demo in PRODUCTS:
            products[demo.name] = await _product(api, demo)
        values = {"$MARKETPLACE_URL": gateway_url, "$REGISTRY": registry} | {
            f"$INTERFACE:{k}": v for k, v in interfaces.items()
        }
        to_approve: list[tuple[str, str]] = []
        for demo in PRODUCTS:
            pid = products[demo.name]["id"]
            build = await _build(api, demo, pid, values | {"$PRODUCT_ID": pid}, interfaces)
            if demo.published_builds and build["status"] in IN_REVIEW:
                to_approve.append((pid, build["id"]))
            for version in demo.draft_builds:
                await _draft_build(api, demo, pid, version, registry)
        for parent, children in SUB_PRODUCTS.items():
            for child in children:
                pair = {"parent_id": products[parent]["id"], "child_id": products[child]["id"]}
                lookup = f"/sub_products?parent_id={pair['parent_id']}&child_id={pair['child_id']}"
                await api.ensure("/sub_products", "operator", pair, lookup=lookup, **pair)
        for demo in PRODUCTS:
            pid = products[demo.name]["id"]
            for badge_name, reason in demo.badges.items():
                award = {"badge_id": badges[badge_name], "reason": reason}
                await api.ensure(f"/products/{pid}/badges", "operator", award, badge_id=badges[badge_name])
            await _publish(api, demo, products[demo.name])
        await _approve(api, to_approve)
    return {name: str(p["id"]) for name, p in products.items()}


async def _product(api: GatewayApi, demo: DemoProduct) -> dict[str, Any]:
    body = {
        "name": demo.name,
        "description": demo.description,
        "mime_type": demo.mime_type,
        "uri": demo.uri,
        "support_url": demo.support_url,
        "locale": "en-US",
    }
    # The operator sees drafts of every owner; the ISV creates (and so owns) them.
    found = await api.find(f"/products?name={quote(demo.name)}", "operator", name=demo.name)
    if found is not None:
        return found
    status, created = await api.call("POST", "/products", "isv", body, ok=(201, 422))
    if status == 201:
        return dict(created)
    again = await api.find(f"/products?name={quote(demo.name)}", "operator", name=demo.name)
    if again is None or TAKEN not in json.dumps(created):
        raise ApiError(f"POST /products as isv: 422 {json.dumps(created)[:2000]}")
    return again


async def _existing_build(api: GatewayApi, pid: str, version: str) -> dict[str, Any] | None:
    return await api.find(f"/products/{pid}/builds?version={quote(version)}", "isv", version=version)


async def _build(
    api: GatewayApi, demo: DemoProduct, pid: str, values: dict[str, str], interfaces: dict[str, str]
) -> dict[str, Any]:
    """The product's demo build, imported or assembled through the API, and submitted."""
    existing = await _existing_build(api, pid, demo.version)
    if existing is not None and existing["status"] != "draft":
        return existing
    if existing is not None:  # left half-assembled by an interrupted run: start again
        await api.call("DELETE", f"/products/{pid}/builds/{existing['id']}", "isv")
    document = demo_document(demo.document, values)
    if not demo.exposes:
        path = f"/products/{pid}/builds/import?version={quote(demo.version)}"
        return dict((await api.call("POST", path, "isv", document))[1])
    return await _assemble(api, demo, pid, document, interfaces)


def _image(document: dict[str, Any]) -> tuple[str, str, str]:
    """``host:port/repo:tag`` → (registry, repository, tag)."""
    image: str = document["product"]["build"]["binary"]["image"]
    host, rest = image.split("/", 1)
    repository, tag = rest.rsplit(":", 1)
    return host, repository, tag


async def _assemble(
    api: GatewayApi, demo: DemoProduct, pid: str, document: dict[str, Any], interfaces: dict[str, str]
) -> dict[str, Any]:
    registry, repository, tag = _image(document)
    build_body = {
        "id": document["product"]["build"]["uuid"],
        "version": demo.version,
        "software_version": demo.version,
        "container_registry": registry,
        "container_repository": repository,
        "container_tag": tag,
        "release_notes": f"{demo.name} {demo.version}.",
    }
    build = (await api.call("POST", f"/products/{pid}/builds", "isv", build_body))[1]
    at = f"/products/{pid}/builds/{build['id']}"
    for i, config in enumerate(document["configuration"]):
        name = "default" if config.get("default") else f"configuration-{i + 1}"
        made = (
            await api.call(
                "POST", f"{at}/configurations", "isv", {"name": name, "default": bool(config.get("default"))}
            )
        )[1]
        for task in config["task"]:
            body = {k: v for k, v in task.items() if k not in ("label", "configuration_id")}
            body["name"] = task["label"]
            await api.call("POST", f"{at}/configurations/{made['id']}/tasks", "isv", body)
    for interface, parameters in demo.exposes.items():
        exposed = {"interface_id": interfaces[interface]}
        exposure = (await api.call("POST", f"{at}/exposures", "isv", exposed))[1]
        for parameter in parameters:
            body = {"name": parameter, "required": True}
            await api.call("POST", f"{at}/exposures/{exposure['id']}/parameters", "isv", body)
    return dict((await api.call("POST", f"{at}/submit", "isv"))[1])


async def _draft_build(api: GatewayApi, demo: DemoProduct, pid: str, version: str, registry: str) -> None:
    """A next version still being packaged: a draft with an image and nothing else."""
    if await _existing_build(api, pid, version) is not None:
        return
    repository = f"demo/{Path(demo.document).stem}"
    body = {
        "version": version,
        "container_registry": registry,
        "container_repository": repository,
        "container_tag": version,
        "release_notes": "Release candidate; packaging in progress.",
    }
    await api.call("POST", f"/products/{pid}/builds", "isv", body)


async def _publish(api: GatewayApi, demo: DemoProduct, product: dict[str, Any]) -> None:
    if demo.state == "draft" or product.get("published_at") is not None:
        return
    body: dict[str, Any] = {}
    if demo.state == "embargoed":
        body["visible_at"] = (datetime.now(UTC) + EMBARGO).isoformat()
    await api.call("POST", f"/products/{product['id']}/publish", "operator", body)


async def _approve(api: GatewayApi, builds: list[tuple[str, str]]) -> None:
    """As the operator: approve each build once validated, then wait until it is published."""
    deadline = asyncio.get_running_loop().time() + PUBLISH_TIMEOUT
    for pid, bid in builds:
        review = await _validated_review(api, bid, deadline)
        if review["state"] == "awaiting_review":
            decision = {"decision": "approve", "reason": "Demo data: approved by the devstack seed."}
            await api.call("POST", f"/reviews/{review['id']}/decisions", "operator", decision)
        while (await api.get(f"/products/{pid}/builds/{bid}", "isv"))["published_at"] is None:
            if asyncio.get_running_loop().time() > deadline:
                raise ApiError(f"build {bid} was not published within {PUBLISH_TIMEOUT}s")
            await asyncio.sleep(0.2)


async def _validated_review(api: GatewayApi, build_id: str, deadline: float) -> dict[str, Any]:
    """The build's review case once its validation has finished; a rejection is an error."""
    while True:
        found = await api.find(f"/reviews?build_id={build_id}", "operator", build_id=build_id)
        state = found["state"] if found else None
        if state == "auto_rejected":
            assert found is not None
            detail = await api.get(f"/reviews/{found['id']}", "operator")
            raise ApiError(
                f"the demo build {build_id} was rejected by validation: {json.dumps(detail)[:3000]}"
            )
        if found is not None and state not in ("submitted", "validating"):
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise ApiError(f"build {build_id} was not validated within {PUBLISH_TIMEOUT}s (state {state})")
        await asyncio.sleep(0.2)
