"""The validation policy as data, its exceptions, and both flowing into requests."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from hspm.common.events.validator import DEFAULT_REQUIRED_RULES
from hspm.common.testing import TEST_INTERNAL_SECRET, as_headers, broker, unique, user
from hspm.curation.app import create_app
from hspm.curation.config import Settings


class TestPolicy:
    async def test_everyone_signed_in_reads_it(self, curation) -> None:
        assert (await curation.get("/validation_policy")).status == 401
        r = await curation.get("/validation_policy", curation.customer)
        assert r.status == 200, r
        assert r.body["required_rules"] == list(DEFAULT_REQUIRED_RULES)
        assert r.body["required_labels"] == ["org.opencontainers.image.title"]
        assert "smoke.fhir" in r.body["known_rules"] and "exceptions" not in r.body
        assert r.body["url"] == "http://marketplace.test/validation_policy"

    async def test_operator_replaces_it_and_requests_carry_it(self, curation) -> None:
        current = (await curation.get("/validation_policy", curation.operator)).body
        body = current | {
            "required_rules": ["image.reference", "runtime.starts", "image.reference"],
            "allowed_registries": ["registry.local:5000"],
            "max_layers": 10,
            "runtime": False,
        }
        r = await curation.put("/validation_policy", curation.operator, body)
        assert r.status == 200, r
        assert r.body["required_rules"] == ["image.reference", "runtime.starts"]
        assert r.body["updated_by"] == str(curation.operator.user_id) and r.body["max_layers"] == 10
        pid = await curation.product()
        mark = await curation.outbox_mark()
        await curation.submit(pid)
        [request] = await curation.events(mark, "curation.validation.requested")
        policy = request["policy"]
        assert policy["required_rules"] == ["image.reference", "runtime.starts"]
        assert policy["allowed_registries"] == ["registry.local:5000"] and policy["runtime"] is False

    async def test_who_may_replace_it(self, curation) -> None:
        body = {"required_rules": []}
        assert (await curation.put("/validation_policy", None, body)).status == 401
        assert (await curation.put("/validation_policy", curation.isv, body)).status == 403
        assert (await curation.put("/validation_policy", curation.auditor, body)).status == 403
        r = await curation.get("/validation_policy", curation.isv)
        assert r.body["required_rules"] == list(DEFAULT_REQUIRED_RULES)

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"required_rules": ["image.reference", "no.such.rule"]}, "required_rules"),
            ({"max_layers": 0}, "max_layers"),
            ({"startup_seconds": "soon"}, "startup_seconds"),
            ({"exceptions": []}, "exceptions"),
            ({"colour": "red"}, "colour"),
            ([1, 2], "validation_policy"),
        ],
    )
    async def test_bad_policy_is_422_and_changes_nothing(self, curation, body, field: str) -> None:
        before = (await curation.get("/validation_policy", curation.operator)).body
        r = await curation.put("/validation_policy", curation.operator, body)
        assert r.status == 422 and field in r.errors, r
        assert (await curation.get("/validation_policy", curation.operator)).body == before

    async def test_wrapped_body(self, curation) -> None:
        r = await curation.put("/validation_policy", curation.admin, {"validation_policy": {"max_layers": 3}})
        assert r.status == 200 and r.body["max_layers"] == 3, r
        # PUT replaces: what was left out takes the contract's defaults.
        assert r.body["required_rules"] == []


class TestServiceTrust:
    """Issue 9: the trusted and insecure registries and the exceptions are shown to staff only."""

    async def test_registries_are_shown_to_staff_only(self, curation) -> None:
        current = (await curation.get("/validation_policy", curation.operator)).body
        body = current | {"allowed_registries": ["10.0.0.5:5000"], "insecure_registries": ["10.0.0.5:5000"]}
        assert (await curation.put("/validation_policy", curation.operator, body)).status == 200
        for staff in (curation.operator, curation.admin, curation.auditor):
            r = await curation.get("/validation_policy", staff)
            assert r.body["allowed_registries"] == ["10.0.0.5:5000"], staff.name
            assert r.body["insecure_registries"] == ["10.0.0.5:5000"]
        for other in (curation.isv, curation.customer, curation.nobody):
            r = await curation.get("/validation_policy", other)
            assert r.status == 200 and r.body["required_rules"], r
            assert "allowed_registries" not in r.body and "insecure_registries" not in r.body

    async def test_a_runs_policy_is_shown_without_them_to_others(self, curation) -> None:
        pid = await curation.product(curation.isv)
        current = (await curation.get("/validation_policy", curation.operator)).body
        body = current | {"allowed_registries": ["10.0.0.5:5000"]}
        assert (await curation.put("/validation_policy", curation.operator, body)).status == 200
        waiver = {"product_id": str(pid), "rule": "user.non_root", "reason": "Vendor base image."}
        assert (await curation.post("/validation_policy/exceptions", curation.operator, waiver)).status == 201
        bid = await curation.published(pid)
        run = (await curation.post(f"/products/{pid}/builds/{bid}/validations", curation.customer)).body
        assert "allowed_registries" not in run["policy"] and "exceptions" not in run["policy"]
        assert run["policy"]["required_rules"]
        for who in (curation.isv, curation.customer):
            r = await curation.get(run["path"], who)
            assert "allowed_registries" not in r.body["policy"] and "exceptions" not in r.body["policy"]
        r = await curation.get(run["path"], curation.auditor)
        assert r.body["policy"]["allowed_registries"] == ["10.0.0.5:5000"]
        assert r.body["policy"]["exceptions"] == [{"rule": "user.non_root", "reason": "Vendor base image."}]


class TestExceptions:
    async def test_create_list_show_delete_and_flow_into_requests(self, curation) -> None:
        pid = await curation.product(curation.isv)
        other = await curation.product(curation.other_isv)
        body = {"product_id": str(pid), "rule": "user.non_root", "reason": "Vendor base image, fixed in 2.0."}
        r = await curation.post("/validation_policy/exceptions", curation.operator, body)
        assert r.status == 201, r
        assert r.headers["Location"] == r.body["url"] and r.body["rule"] == "user.non_root"
        exception = r.body
        await curation.post(
            "/validation_policy/exceptions",
            curation.operator,
            {"product_id": str(other), "rule": "env.names", "reason": "Legacy."},
        )
        mark = await curation.outbox_mark()
        await curation.submit(pid)
        await curation.submit(other, owner=curation.other_isv)
        mine, theirs = await curation.events(mark, "curation.validation.requested")
        assert mine["policy"]["exceptions"] == [{"rule": "user.non_root", "reason": body["reason"]}]
        assert theirs["policy"]["exceptions"] == [{"rule": "env.names", "reason": "Legacy."}]

        listed = await curation.get("/validation_policy/exceptions", curation.auditor)
        assert listed.body["total_entries"] == 2
        listed = await curation.get(f"/validation_policy/exceptions?product_id={pid}", curation.operator)
        assert [e["id"] for e in listed.body["results"]] == [exception["id"]]
        # Staff only (issue 9): which checks a product skips is not for ISVs or customers.
        assert (await curation.get("/validation_policy/exceptions", curation.isv)).status == 403
        assert (await curation.get("/validation_policy/exceptions", curation.customer)).status == 403
        assert (await curation.get(exception["path"], curation.isv)).status == 403
        assert (await curation.get(exception["path"], curation.auditor)).status == 200

        assert (await curation.delete(exception["path"], curation.isv)).status == 403
        assert (await curation.delete(exception["path"], curation.operator)).status == 204
        assert (await curation.delete(exception["path"], curation.operator)).status == 404
        mark = await curation.outbox_mark()
        await curation.submit(pid, "2.0.0")
        [request] = await curation.events(mark, "curation.validation.requested")
        assert request["policy"]["exceptions"] == []

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"rule": "image.magic"}, "rule"),
            ({"reason": " "}, "reason"),
            ({"reason": None}, "reason"),
            ({"product_id": "nope"}, "product_id"),
            ({"product_id": str(uuid4())}, "product_id"),
            ({"extra": 1}, "extra"),
        ],
    )
    async def test_bad_exceptions_are_422(self, curation, change, field: str) -> None:
        pid = await curation.product()
        body = {"product_id": str(pid), "rule": "user.non_root", "reason": "Because."} | change
        r = await curation.post("/validation_policy/exceptions", curation.operator, body)
        assert r.status == 422 and field in r.errors, r
        assert await (await curation.db()).fetchval("SELECT count(*) FROM policy_exceptions") == 0

    async def test_a_rule_is_waived_once_per_product(self, curation) -> None:
        pid = await curation.product()
        body = {"product_id": str(pid), "rule": "user.non_root", "reason": "Because."}
        assert (await curation.post("/validation_policy/exceptions", curation.operator, body)).status == 201
        r = await curation.post("/validation_policy/exceptions", curation.operator, body)
        assert r.status == 422 and "rule" in r.errors, r

    async def test_who_may_write(self, curation) -> None:
        pid = await curation.product(curation.isv)
        body = {"product_id": str(pid), "rule": "user.non_root", "reason": "Mine."}
        assert (await curation.post("/validation_policy/exceptions", None, body)).status == 401
        assert (await curation.post("/validation_policy/exceptions", curation.isv, body)).status == 403
        assert (await curation.delete(f"/validation_policy/exceptions/{uuid4()}")).status == 401
        assert (await curation.get("/validation_policy/exceptions")).status == 401


async def test_first_start_takes_the_policy_from_settings(pg_dsn, amqp_url, monkeypatch) -> None:
    """HSPM_POLICY_* seed a fresh database; a restart keeps what the operator stored."""
    name = unique("hspm_test_curation_seed")
    monkeypatch.setenv("HSPM_POLICY_ALLOWED_REGISTRIES", "registry.local:5000, 10.0.0.5:5000")
    monkeypatch.setenv("HSPM_POLICY_INSECURE_REGISTRIES", "registry.local:5000")
    try:
        client = await _started(_settings(pg_dsn, amqp_url, name))
        try:
            policy = await _policy(client)
            assert policy["allowed_registries"] == ["registry.local:5000", "10.0.0.5:5000"]
            assert policy["insecure_registries"] == ["registry.local:5000"]
            assert policy["required_labels"] == ["org.opencontainers.image.title"]
            assert policy["required_rules"] == list(DEFAULT_REQUIRED_RULES)
        finally:
            await client.close()
        monkeypatch.setenv("HSPM_POLICY_ALLOWED_REGISTRIES", "elsewhere:1")
        client = await _started(_settings(pg_dsn, amqp_url, name))
        try:
            assert (await _policy(client))["allowed_registries"] == ["registry.local:5000", "10.0.0.5:5000"]
        finally:
            await client.close()
    finally:
        await _drop(pg_dsn, name)


def _settings(pg_dsn: str, amqp_url: str, name: str) -> Settings:
    return Settings(
        database_url=pg_dsn.rsplit("/", 1)[0] + "/" + name,
        amqp_url=amqp_url,
        amqp_namespace=broker.namespace("tcur"),
        internal_secret=TEST_INTERNAL_SECRET,
        db_pool_min=1,
        db_pool_max=2,
        revalidate_interval_seconds=0,
    )


async def _started(settings: Settings) -> TestClient:
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    return client


async def _policy(client: TestClient) -> dict[str, Any]:
    staff = user(["validations.read"])
    async with client.get("/validation_policy", headers=as_headers(staff)) as resp:
        assert resp.status == 200
        body: dict[str, Any] = await resp.json()
        return body


async def _drop(pg_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(pg_dsn.rsplit("/", 1)[0] + "/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
