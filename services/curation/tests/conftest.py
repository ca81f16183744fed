"""Curation tests: one database per session, emptied before each test; personas as principals.

Events are delivered the way the consumer delivers them (``outbox.handle_once`` on the
service's pool, one transaction), so redelivery and the handlers' effects are real.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest_asyncio
from aiohttp import web

from hspm.common.auth import Principal
from hspm.common.events import catalog, validator
from hspm.common.testing import TEST_INTERNAL_SECRET, broker
from hspm.common.testing.harness import ServiceHarness, serve_harness
from hspm.curation.app import create_app, limits
from hspm.curation.config import Settings
from hspm.curation.consumers import HANDLERS
from hspm.curation.policy import rules as policy_rules
from hspm.curation.policy import service as policy_service
from hspm.curation.validations import service as validations_service

PUBLIC_URL = "http://marketplace.test"
OPERATOR_KEYS = frozenset(
    {
        "products.read",
        "builds.read",
        "reviews.read",
        "reviews.update",
        "validations.create",
        "validations.read",
        "recalls.create",
        "recalls.read",
    }
)
AUDITOR_KEYS = frozenset({"reviews.read", "validations.read", "recalls.read"})
# The digest the validator reports as resolved unless a test says otherwise.
DIGEST = "sha256:" + "d" * 64
TABLES = (
    "products, builds, review_cases, provenance, validation_runs, validation_policy, "
    "policy_exceptions, recalls, outbox, processed_events"
)


def persona(keys: frozenset[str] | set[str] = frozenset(), name: str = "P", **kw: Any) -> Principal:
    return Principal(
        kind="user", user_id=uuid4(), session_id=uuid4(), name=name, permissions=frozenset(keys), **kw
    )


def rule(rule_id: str, status: str = "pass", required: bool = True, **kw: Any) -> validator.RuleResult:
    phase = "runtime" if rule_id.startswith(("runtime.", "smoke.")) else "static"
    return validator.RuleResult(
        rule=rule_id, title=rule_id, phase=phase, status=status, required=required, **kw
    )


@dataclass
class Curation(ServiceHarness):
    """The running service, its personas and its database."""

    admin: Principal = field(default_factory=lambda: persona({"everything.manage"}, name="Admin"))
    operator: Principal = field(default_factory=lambda: persona(OPERATOR_KEYS, name="Olga Operator"))
    auditor: Principal = field(default_factory=lambda: persona(AUDITOR_KEYS, name="Auditor"))
    isv: Principal = field(default_factory=lambda: persona({"products.create", "validations.create"}))
    other_isv: Principal = field(default_factory=lambda: persona({"products.create", "validations.create"}))
    customer: Principal = field(default_factory=lambda: persona({"validations.create"}, name="Carla"))
    nobody: Principal = field(default_factory=lambda: persona(name="No rights"))
    handlers = HANDLERS
    # Builders of events, here because test modules cannot import conftest (importlib mode).
    rule = staticmethod(lambda *a, **kw: rule(*a, **kw))
    snapshot = staticmethod(lambda *a, **kw: snapshot(*a, **kw))
    completion = staticmethod(lambda *a, **kw: completion(*a, **kw))

    # --- database and events --------------------------------------------------------------

    async def reset(self) -> None:
        db = await self.db()
        await db.execute(f"TRUNCATE {TABLES} CASCADE")
        await policy_service.seed(db, policy_rules.initial([], [], ["org.opencontainers.image.title"]))
        await validations_service.configure_queue(db, limits(settings("", "", "")))

    async def limits(self, **values: int) -> None:
        """Change the fair queue's limits for this test (``reset`` puts the settings' back)."""
        db = await self.db()
        for name, value in values.items():
            assert name in ("max_in_flight", "max_open_per_requester", "max_open_per_product")
            await db.execute(f"UPDATE validation_queue SET {name} = $1", value)

    async def draft(self, product_id: UUID, build_id: UUID | None = None, **changes: Any) -> UUID:
        """``catalog.build.draft_changed`` for an editable build (a new one unless given)."""
        bid = build_id or uuid4()
        submitted = snapshot(bid, product_id, await self._owner(product_id), "1.0.0")
        await self.deliver(catalog.BuildDraftChanged(**(submitted.model_dump() | changes)))
        return bid

    # --- the catalog and the validator, stood in for ---------------------------------------

    async def product(
        self, owner: Principal | None = None, listed: bool = True, product_id: UUID | None = None
    ) -> UUID:
        pid = product_id or uuid4()
        await self.deliver(
            catalog.ProductCreated(product_id=pid, owner_id=(owner or self.isv).user_id, name="P")
        )
        if listed:
            now = datetime.now(UTC)
            await self.deliver(catalog.ProductPublished(product_id=pid, published_at=now, visible_at=now))
        return pid

    async def submit(
        self, product_id: UUID, version: str = "1.0.0", build_id: UUID | None = None, owner: Any = None
    ) -> UUID:
        """``catalog.build.submitted`` for a build (a new one unless ``build_id`` is given)."""
        bid = build_id or uuid4()
        owner_id = owner.user_id if owner else await self._owner(product_id)
        await self.deliver(snapshot(bid, product_id, owner_id, version))
        return bid

    async def _owner(self, product_id: UUID) -> UUID:
        """The product's owner in the read copy (the ISV for a product not seen yet)."""
        found = await (await self.db()).fetchval("SELECT owner_id FROM products WHERE id = $1", product_id)
        return UUID(str(found or self.isv.user_id))

    async def case(self, build_id: UUID) -> dict[str, Any]:
        row = await (await self.db()).fetchrow("SELECT * FROM review_cases WHERE build_id = $1", build_id)
        assert row is not None
        return dict(row)

    async def current_run(self, build_id: UUID) -> UUID:
        run_id = (await self.case(build_id))["current_run_id"]
        assert run_id is not None
        return UUID(str(run_id))

    async def complete(self, run_id: UUID, build_id: UUID, product_id: UUID, outcome: str, **kw: Any) -> None:
        await self.deliver(completion(run_id, build_id, product_id, outcome, **kw))

    async def through_review(self, product_id: UUID, version: str = "1.0.0") -> tuple[UUID, UUID]:
        """A submitted build whose run passed: its case is awaiting review. (build id, case id)"""
        bid = await self.submit(product_id, version)
        await self.complete(await self.current_run(bid), bid, product_id, "passed")
        return bid, (await self.case(bid))["id"]

    async def published(self, product_id: UUID, version: str = "1.0.0") -> UUID:
        """A build approved by the operator and published by the catalog."""
        bid, cid = await self.through_review(product_id, version)
        r = await self.post(f"/reviews/{cid}/decisions", self.operator, {"decision": "approve"})
        assert r.status == 200, r
        await self.deliver(
            catalog.BuildPublished(build_id=bid, product_id=product_id, published_at=datetime.now(UTC))
        )
        return bid


def snapshot(build_id: UUID, product_id: UUID, owner_id: UUID | None, version: str) -> catalog.BuildSubmitted:
    """A complete submission as the catalog sends it."""
    task = catalog.TaskSnapshot(
        task_id=uuid4(),
        name="web",
        memory_maximum=512,
        ports=[8080],
        environment=[catalog.EnvironmentVariable(key="FHIR_URL", required=True)],
    )
    return catalog.BuildSubmitted(
        build_id=build_id,
        product_id=product_id,
        owner_id=owner_id or uuid4(),
        version=version,
        registry="registry.example.org",
        repository="acme/app",
        tag=version,
        digest="sha256:" + "a" * 64,
        mime_type="application/smart.v1",
        configurations=[
            catalog.ConfigurationSnapshot(
                configuration_id=uuid4(), name="default", default=True, tasks=[task]
            )
        ],
        exposures=[
            catalog.ExposureSnapshot(
                interface_id=uuid4(), interface_uri="http://hl7.org/fhir/R4", interface_name="FHIR R4"
            )
        ],
        has_asset=True,
    )


def completion(
    run_id: UUID, build_id: UUID, product_id: UUID, outcome: str, **kw: Any
) -> validator.ValidationCompleted:
    rules = kw.pop("rules", None)
    if rules is None:
        rules = [rule("image.reference"), rule("runtime.starts", "fail" if outcome == "failed" else "pass")]
    return validator.ValidationCompleted(
        run_id=run_id,
        build_id=build_id,
        product_id=product_id,
        outcome=outcome,
        rules=rules,
        runtime=validator.RuntimeVerdict(status="ran"),
        timings={"total": 4.2},
        summary=kw.pop("summary", f"Outcome {outcome}."),
        digest=kw.pop("digest", DIGEST),
        producer="validator",
        **kw,
    )


def settings(dsn: str, amqp_url: str, namespace: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": dsn,
        "amqp_url": amqp_url,
        "amqp_namespace": namespace,
        "internal_secret": TEST_INTERNAL_SECRET,
        "public_url": PUBLIC_URL,
        "db_pool_min": 1,
        "db_pool_max": 4,
        # Tests run the scheduler's pass themselves.
        "revalidate_interval_seconds": 0,
    }
    return Settings(**(values | overrides))


@pytest_asyncio.fixture(scope="session")
async def curation_service(pg_dsn: str, amqp_url: str) -> AsyncIterator[Curation]:
    namespace = broker.namespace("tcur")

    def make_app(dsn: str) -> web.Application:
        return create_app(settings(dsn, amqp_url, namespace))

    async with serve_harness(pg_dsn, "hspm_test_curation", make_app, Curation) as service:
        yield service


@pytest_asyncio.fixture
async def curation(curation_service: Curation) -> Curation:
    """The service, emptied, with the first policy."""
    await curation_service.reset()
    return curation_service
