"""The catalog end to end through the gateway: publication, builds and curation, the demo catalog."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
import aiohttp
import pytest_asyncio
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue

from hspm.common.events import catalog as ev
from hspm.common.testing import unique, wait_for
from hspm.devstack import seed_catalog as demo
from hspm.devstack.stack import Stack


async def _call(
    stack: Stack, method: str, path: str, token: str | None = None, body: Any = None
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, stack.config.gateway_url + path, headers=headers, json=body) as resp,
    ):
        text = await resp.text()
        return resp.status, json.loads(text) if text else None


async def _ok(stack: Stack, method: str, path: str, token: str | None = None, body: Any = None) -> Any:
    status, data = await _call(stack, method, path, token, body)
    assert status in (200, 201), (method, path, status, data)
    return data


async def _review_in(
    stack: Stack, tokens: dict[str, str], build_id: str, state: str
) -> dict[str, Any] | None:
    """The build's review case once it is in ``state`` (None until then)."""
    body = await _ok(stack, "GET", f"/reviews?build_id={build_id}", tokens["operator"])
    found = [r for r in body["results"] if r["state"] == state]
    return found[0] if found else None


async def _listed_ids(stack: Stack, token: str | None = None, query: str = "") -> set[str]:
    body = await _ok(stack, "GET", f"/products?per_page=100{query}", token)
    return {p["id"] for p in body["results"]}


async def _new_product(stack: Stack, tokens: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"name": unique("Flow product"), "description": "A product of the system tests.", **fields}
    product: dict[str, Any] = await _ok(stack, "POST", "/products", tokens["isv"], body)
    assert product["published_at"] is None
    return product


@pytest_asyncio.fixture
async def submitted_queue(stack: Stack) -> AsyncIterator[AbstractQueue]:
    """Our own exclusive queue on the stack's exchange, bound to ``catalog.build.submitted``."""
    connection = await aio_pika.connect(stack.config.amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(f"{stack.config.amqp_namespace}.events")
        queue = await channel.declare_queue("", exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key=ev.BuildSubmitted.TYPE)
        yield queue


async def _next_submitted(queue: AbstractQueue, build_id: str, timeout: float = 15.0) -> dict[str, Any]:
    """The ``catalog.build.submitted`` body for this build (others are skipped)."""

    async def take() -> dict[str, Any]:
        async with queue.iterator() as messages:
            message: AbstractIncomingMessage
            async for message in messages:
                async with message.process():
                    body: dict[str, Any] = json.loads(message.body)
                    if body.get("build_id") == build_id:
                        return body
        raise AssertionError("the queue closed")

    return await asyncio.wait_for(take(), timeout)


class TestProductPublication:
    async def test_draft_publish_and_embargo(self, stack: Stack, tokens: dict[str, str]) -> None:
        product = await _new_product(stack, tokens, mime_type="application/vnd.docker+smart")
        path = f"/products/{product['id']}"

        assert (await _call(stack, "GET", path))[0] == 404
        assert (await _ok(stack, "GET", path, tokens["isv"]))["id"] == product["id"]
        assert product["id"] not in await _listed_ids(stack)
        assert product["id"] in await _listed_ids(stack, tokens["isv"])  # owners see their drafts

        published = await _ok(stack, "POST", f"{path}/publish", tokens["operator"], {})
        assert published["published_at"] is not None
        assert (await _ok(stack, "GET", path))["id"] == product["id"]
        assert product["id"] in await _listed_ids(stack)

        future = (datetime.now(UTC) + timedelta(days=7)).isoformat()
        await _ok(stack, "POST", f"{path}/publish", tokens["operator"], {"visible_at": future})
        assert (await _call(stack, "GET", path))[0] == 404
        assert product["id"] not in await _listed_ids(stack)
        assert (await _ok(stack, "GET", path, tokens["operator"]))["visible_at"] is not None

        await _ok(stack, "POST", f"{path}/unpublish", tokens["operator"])
        assert (await _call(stack, "GET", path))[0] == 404


class TestBuildLifecycle:
    async def test_submission_snapshot_then_approval_publishes(
        self, stack: Stack, tokens: dict[str, str], submitted_queue: AbstractQueue
    ) -> None:
        isv = tokens["isv"]
        product = await _new_product(stack, tokens, mime_type="application/x-cds-hooks")
        pid = product["id"]
        await _ok(stack, "POST", f"/products/{pid}/publish", tokens["operator"], {})
        build = await _ok(
            stack,
            "POST",
            f"/products/{pid}/builds",
            isv,
            {
                "version": "1.0.0",
                "container_registry": stack.config.registry_host,
                "container_repository": "samples/cds-good",
                "container_tag": "1",
            },
        )
        at = f"/products/{pid}/builds/{build['id']}"
        assert build["status"] == "draft"
        assert build["published_at"] is None
        # A draft build is not for the public, even under a listed product.
        assert (await _call(stack, "GET", at))[0] == 404

        config = await _ok(stack, "POST", f"{at}/configurations", isv, {"name": "default", "default": True})
        environment = [
            {"key": "CDS_JWT_ISSUERS", "description": "Trusted issuers.", "required": True},
            {"key": "LOG_LEVEL", "required": False, "default": "info"},
        ]
        task = {
            "name": "CDS Hooks service",
            "memory_minimum": 128,
            "memory_maximum": 256,
            "instances_minimum": 1,
            "ports": [8080],
            "environment": environment,
        }
        await _ok(stack, "POST", f"{at}/configurations/{config['id']}/tasks", isv, task)

        submitted = await _ok(stack, "POST", f"{at}/submit", isv)
        assert submitted["status"] == "submitted"

        snapshot = await _next_submitted(submitted_queue, build["id"])
        assert snapshot["product_id"] == pid
        assert snapshot["version"] == "1.0.0"
        assert (snapshot["registry"], snapshot["repository"], snapshot["tag"]) == (
            stack.config.registry_host,
            "samples/cds-good",
            "1",
        )
        assert snapshot["mime_type"] == "application/x-cds-hooks"
        [configuration] = snapshot["configurations"]
        [task_snapshot] = configuration["tasks"]
        assert (task_snapshot["memory_minimum"], task_snapshot["memory_maximum"]) == (128, 256)
        assert task_snapshot["ports"] == [8080]
        assert [e["key"] for e in task_snapshot["environment"]] == ["CDS_JWT_ISSUERS", "LOG_LEVEL"]

        # A submitted build's packaging is frozen.
        status, _ = await _call(stack, "PATCH", at, isv, {"container_tag": "1.0.1"})
        assert status in (409, 422), status

        # Curation validates the build (pulled from the stack's registry, run in the sandbox)
        # and queues it for review; the operator's approval publishes it.
        review = await wait_for(lambda: _review_in(stack, tokens, build["id"], "awaiting_review"), timeout=60)
        decision = {"decision": "approve", "reason": "Checked by the system test."}
        await _ok(stack, "POST", f"/reviews/{review['id']}/decisions", tokens["operator"], decision)

        async def published() -> dict[str, Any] | None:
            status, body = await _call(stack, "GET", at)  # anonymous
            return body if status == 200 and body["published_at"] else None

        shown = await wait_for(published, timeout=15)
        assert shown["status"] == "published"
        assert shown["validated_at"] is not None

    async def test_isv_cannot_publish_a_build_itself(self, stack: Stack, tokens: dict[str, str]) -> None:
        product = await _new_product(stack, tokens)
        build = await _ok(
            stack, "POST", f"/products/{product['id']}/builds", tokens["isv"], {"version": "0.1.0"}
        )
        at = f"/products/{product['id']}/builds/{build['id']}"
        status, body = await _call(
            stack, "PATCH", at, tokens["isv"], {"published_at": "2020-01-01T00:00:00Z"}
        )
        assert status == 200, body
        assert body["published_at"] is None
        assert body["status"] == "draft"


class TestCustomer:
    async def test_cannot_create_see_drafts_or_publish(self, stack: Stack, tokens: dict[str, str]) -> None:
        customer = tokens["customer"]
        status, _ = await _call(stack, "POST", "/products", customer, {"name": unique("Customer product")})
        assert status == 403

        draft = await _new_product(stack, tokens)
        path = f"/products/{draft['id']}"
        assert (await _call(stack, "GET", path, customer))[0] == 404
        assert draft["id"] not in await _listed_ids(stack, customer)
        # Not found first: a customer cannot even learn the draft exists.
        assert (await _call(stack, "POST", f"{path}/publish", customer, {}))[0] in (403, 404)

        await _ok(stack, "POST", f"{path}/publish", tokens["operator"], {})
        assert (await _call(stack, "GET", path, customer))[0] == 200
        assert (await _call(stack, "POST", f"{path}/unpublish", customer))[0] == 403
        assert (await _call(stack, "POST", f"{path}/publish", customer, {}))[0] == 403


class TestDemoCatalog:
    """What ``start_stack`` (and ``make up``) seed through the public API."""

    async def _demo_products(self, stack: Stack, tokens: dict[str, str]) -> dict[str, dict[str, Any]]:
        names = {p.name for p in demo.PRODUCTS}
        body = await _ok(stack, "GET", "/products?per_page=100", tokens["operator"])
        found = {p["name"]: p for p in body["results"] if p["name"] in names}
        while body.get("next_page"):
            body = await _ok(
                stack, "GET", f"/products?per_page=100&page={body['next_page']}", tokens["operator"]
            )
            found |= {p["name"]: p for p in body["results"] if p["name"] in names}
        return found

    async def test_products_states_and_listing(self, stack: Stack, tokens: dict[str, str]) -> None:
        products = await self._demo_products(stack, tokens)
        assert len(products) == 5
        listed = await _listed_ids(stack)
        for spec in demo.PRODUCTS:
            product = products[spec.name]
            assert product["mime_type"] == spec.mime_type
            anonymous = (await _call(stack, "GET", f"/products/{product['id']}"))[0]
            if spec.state == "listed":
                assert product["id"] in listed and anonymous == 200, spec.name
            else:
                assert product["id"] not in listed and anonymous == 404, spec.name
            if spec.state == "draft":
                assert product["published_at"] is None
            if spec.state == "embargoed":
                assert product["published_at"] is not None
                assert datetime.fromisoformat(product["visible_at"]) > datetime.now(UTC)

    async def test_builds_interfaces_badges_and_suite(self, stack: Stack, tokens: dict[str, str]) -> None:
        products = await self._demo_products(stack, tokens)
        operator = tokens["operator"]
        for spec in demo.PRODUCTS:
            pid = products[spec.name]["id"]
            builds = (await _ok(stack, "GET", f"/products/{pid}/builds?per_page=100", operator))["results"]
            main = next(b for b in builds if b["version"] == spec.version)
            assert main["status"] == ("published" if spec.published_builds else "awaiting_review"), spec.name
            assert main["validated_at"] is not None or not spec.published_builds, spec.name
            image = f"{main['container_registry'] or ''}/{main['container_repository'] or ''}"
            assert stack.config.registry_host in image, image
            for version in spec.draft_builds:
                assert next(b for b in builds if b["version"] == version)["status"] == "draft"
            if spec.exposes:
                exposures = await _ok(
                    stack, "GET", f"/products/{pid}/builds/{main['id']}/exposures", operator
                )
                assert len(exposures["results"]) == len(spec.exposes)

        interfaces = (await _ok(stack, "GET", "/interfaces?per_page=100"))["results"]
        assert {name for name, _, _ in demo.INTERFACES} <= {i["name"] for i in interfaces}
        badges = (await _ok(stack, "GET", "/badges?per_page=100"))["results"]
        assert {name for name, _ in demo.BADGES} <= {b["name"] for b in badges}

        watch = products["Sepsis Watch"]["id"]
        awards = (await _ok(stack, "GET", f"/products/{watch}/badges"))["results"]
        assert [a["name"] for a in awards] == ["Clinical Safety Reviewed"]
        links = await _ok(stack, "GET", f"/sub_products?parent_id={watch}&per_page=100", operator)
        children = {products[c]["id"] for c in demo.SUB_PRODUCTS["Sepsis Watch"]}
        assert {link["child_id"] for link in links["results"]} == children
        # Anonymous callers see only the visible child (the measures are embargoed).
        visible = (await _ok(stack, "GET", f"/products/{watch}/children"))["results"]
        assert [c["name"] for c in visible] == ["Sepsis Early Warning CDS Service"]

    async def test_search_finds_the_demo(self, stack: Stack, tokens: dict[str, str]) -> None:
        body = await _ok(stack, "POST", "/products/search", None, {"text": "sepsis"})
        names = {p["name"] for p in body["results"]}
        assert {"Sepsis Watch", "Sepsis Early Warning CDS Service"} <= names
        assert "Adult Sepsis Care Pathway (KNART)" not in names  # a draft
        mine = await _ok(stack, "POST", "/products/search", tokens["operator"], {"text": "sepsis"})
        assert "Adult Sepsis Care Pathway (KNART)" in {p["name"] for p in mine["results"]}

    async def test_seeding_again_changes_nothing(self, stack: Stack, tokens: dict[str, str]) -> None:
        before = await self._demo_products(stack, tokens)
        await stack.seed_catalog()
        after = await self._demo_products(stack, tokens)
        assert {k: v["id"] for k, v in before.items()} == {k: v["id"] for k, v in after.items()}
        published = {k: v["published_at"] for k, v in before.items()}
        assert published == {k: v["published_at"] for k, v in after.items()}
        for name, product in after.items():
            builds = await _ok(
                stack, "GET", f"/products/{product['id']}/builds?per_page=100", tokens["operator"]
            )
            spec = next(p for p in demo.PRODUCTS if p.name == name)
            assert builds["total_entries"] == 1 + len(spec.draft_builds), name
