"""Which builds a recall reaches: by SemVer range or by id, only builds on offer.

The recalls service runs against in-memory stand-ins: the recalls store, the reviews
area (the product's cases and the move to ``recalled``), the catalog copy and the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest

from hspm.common.auth import Principal
from hspm.common.errors import Forbidden, ValidationFailed
from hspm.common.events.base import Event
from hspm.common.events.curation import RecallIssued
from hspm.curation.actors import Actor
from hspm.curation.recalls import service
from hspm.curation.recalls.models import RecallCreate

CONN: Any = None
PRODUCT = uuid4()


@dataclass
class FakeReviews:
    """The reviews area: the product's cases (with versions) and the recalls it applied."""

    cases: list[dict[str, Any]] = field(default_factory=list)
    recalled: list[tuple[UUID, Actor, str, UUID]] = field(default_factory=list)

    def add(self, version: str, state: str = "published") -> UUID:
        build_id = uuid4()
        self.cases.append({"id": uuid4(), "build_id": build_id, "version": version, "state": state})
        return build_id

    async def cases_of_product(self, conn: Any, product_id: UUID) -> list[dict[str, Any]]:
        return [dict(c) for c in self.cases] if product_id == PRODUCT else []

    async def recall(
        self, conn: Any, case: dict[str, Any], actor: Actor, reason: str, recall_id: UUID
    ) -> None:
        self.recalled.append((case["build_id"], actor, reason, recall_id))


@dataclass
class FakeRecalls:
    rows: list[dict[str, Any]] = field(default_factory=list)

    async def insert_recall(self, conn: Any, fields: dict[str, Any]) -> dict[str, Any]:
        now = datetime.now(UTC)
        row = fields | {"owner_id": None, "created_at": now, "updated_at": now}
        self.rows.append(row)
        return row


class FakeCopy:
    async def product_exists(self, conn: Any, product_id: UUID) -> bool:
        return product_id == PRODUCT


@dataclass
class World:
    reviews: FakeReviews = field(default_factory=FakeReviews)
    recalls: FakeRecalls = field(default_factory=FakeRecalls)
    events: list[Event] = field(default_factory=list)

    async def emit(self, conn: Any, event: Event) -> None:
        self.events.append(event)

    def recalled_builds(self) -> list[UUID]:
        return [build_id for build_id, *_ in self.reviews.recalled]


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> World:
    w = World()
    monkeypatch.setattr(service, "reviews", w.reviews)
    monkeypatch.setattr(service, "store", w.recalls)
    monkeypatch.setattr(service, "copy", FakeCopy())
    monkeypatch.setattr(service, "emit", w.emit)
    return w


OPERATOR = Principal(
    kind="user", user_id=uuid4(), name="Olga Operator", permissions=frozenset({"recalls.create"})
)


def body(**kw: Any) -> RecallCreate:
    return RecallCreate.model_validate(
        {"product_id": str(PRODUCT), "severity": "critical", "reason": "CVE-2025-0001"} | kw
    )


def shelf(world: World) -> dict[str, UUID]:
    """Builds of every kind: on offer, not on offer, pre-release, not SemVer."""
    return {
        "0.9.0": world.reviews.add("0.9.0"),
        "1.0.0": world.reviews.add("1.0.0"),
        "1.5.0": world.reviews.add("1.5.0", "deprecated"),
        "1.6.0": world.reviews.add("1.6.0", "awaiting_review"),
        "1.7.0-rc.1": world.reviews.add("1.7.0-rc.1"),
        "1.8.0": world.reviews.add("1.8.0", "withdrawn"),
        "2.0.0": world.reviews.add("2.0.0"),
        "nightly": world.reviews.add("nightly"),
    }


@pytest.mark.parametrize(
    ("versions", "reached"),
    [
        (">=1.0.0 <2.0.0", ["1.0.0", "1.5.0", "1.7.0-rc.1"]),
        ("<1.0.0 || >=2.0.0", ["0.9.0", "2.0.0"]),
        ("1.5.0", ["1.5.0"]),
        (">= 1.7.0-rc.1", ["1.7.0-rc.1", "2.0.0"]),
        ("!=1.0.0", ["0.9.0", "1.5.0", "1.7.0-rc.1", "2.0.0"]),
    ],
)
async def test_a_range_reaches_the_matching_builds_on_offer(
    world: World, versions: str, reached: list[str]
) -> None:
    builds = shelf(world)
    recall = await service.issue(CONN, OPERATOR, body(versions=versions))
    wanted = [builds[v] for v in reached]
    assert world.recalled_builds() == wanted and recall["build_ids"] == wanted
    assert recall["versions"] == versions
    [event] = world.events
    assert isinstance(event, RecallIssued)
    assert event.build_ids == wanted and event.versions == versions and event.recall_id == recall["id"]
    assert {reason for _, _, reason, _ in world.reviews.recalled} == {"CVE-2025-0001"}


@pytest.mark.parametrize("versions", [">=3.0.0", "1.6.0", "1.8.0"])
async def test_a_range_reaching_nothing_on_offer_is_422(world: World, versions: str) -> None:
    shelf(world)
    with pytest.raises(ValidationFailed) as info:
        await service.issue(CONN, OPERATOR, body(versions=versions))
    assert list(info.value.errors) == ["versions"]
    assert world.reviews.recalled == [] and world.recalls.rows == [] and world.events == []


async def test_by_ids_the_versions_are_written_as_an_exact_range(world: World) -> None:
    builds = shelf(world)
    picked = [builds["2.0.0"], builds["1.0.0"], builds["2.0.0"]]
    recall = await service.issue(CONN, OPERATOR, body(build_ids=[str(b) for b in picked]))
    assert world.recalled_builds() == [builds["2.0.0"], builds["1.0.0"]]
    assert recall["versions"] == "2.0.0 || 1.0.0"


@pytest.mark.parametrize(("version", "field"), [("1.6.0", "build_ids"), ("1.8.0", "build_ids")])
async def test_by_ids_every_build_must_be_on_offer(world: World, version: str, field: str) -> None:
    builds = shelf(world)
    with pytest.raises(ValidationFailed) as info:
        await service.issue(CONN, OPERATOR, body(build_ids=[str(builds["1.0.0"]), str(builds[version])]))
    assert list(info.value.errors) == [field] and world.reviews.recalled == []


async def test_by_ids_every_build_must_be_of_the_product(world: World) -> None:
    builds = shelf(world)
    with pytest.raises(ValidationFailed) as info:
        await service.issue(CONN, OPERATOR, body(build_ids=[str(builds["1.0.0"]), str(uuid4())]))
    assert list(info.value.errors) == ["build_ids"] and world.reviews.recalled == []


@pytest.mark.parametrize("selection", [{}, {"versions": "1.0.0", "build_ids": [str(uuid4())]}])
async def test_exactly_one_way_of_selecting(world: World, selection: dict[str, Any]) -> None:
    shelf(world)
    with pytest.raises(ValidationFailed) as info:
        await service.issue(CONN, OPERATOR, body(**selection))
    assert list(info.value.errors) == ["versions"]


async def test_the_fixed_build_is_of_the_product_and_not_recalled(world: World) -> None:
    builds = shelf(world)
    for fixed in (uuid4(), builds["1.0.0"]):
        with pytest.raises(ValidationFailed) as info:
            await service.issue(CONN, OPERATOR, body(versions="1.0.0", fixed_build_id=str(fixed)))
        assert list(info.value.errors) == ["fixed_build_id"]
    recall = await service.issue(CONN, OPERATOR, body(versions="1.0.0", fixed_build_id=str(builds["2.0.0"])))
    assert recall["fixed_build_id"] == builds["2.0.0"]


async def test_an_unknown_product_is_422(world: World) -> None:
    with pytest.raises(ValidationFailed) as info:
        await service.issue(CONN, OPERATOR, body(versions="1.0.0", product_id=str(uuid4())))
    assert list(info.value.errors) == ["product_id"]


async def test_only_holders_of_recalls_create_recall(world: World) -> None:
    shelf(world)
    isv = Principal(kind="user", user_id=uuid4(), permissions=frozenset({"recalls.read"}))
    with pytest.raises(Forbidden):
        await service.issue(CONN, isv, body(versions="1.0.0"))
    assert world.reviews.recalled == [] and world.events == []


async def test_the_issuer_is_on_record(world: World) -> None:
    shelf(world)
    recall = await service.issue(CONN, OPERATOR, body(versions="1.0.0"))
    assert (recall["issued_by"], recall["issued_by_name"]) == (OPERATOR.user_id, "Olga Operator")
    [(_, actor, _, recall_id)] = world.reviews.recalled
    assert actor == Actor("user", OPERATOR.user_id, "Olga Operator") and recall_id == recall["id"]
