"""Who sees a build and who may change it, over in-memory products and builds stores.

A build is seen through its product; unpublished builds only by the product's owner and
``builds.read`` holders. Its packaging changes only while it is a draft or sent back.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest

from hspm.catalog.builds.service import access
from hspm.catalog.products import service as products_service
from hspm.common.auth import Principal
from hspm.common.errors import Conflict, Forbidden, NotFound

CONN: Any = None
OWNER_ID = uuid4()
OWNER = Principal(kind="user", user_id=OWNER_ID)
CUSTOMER = Principal(kind="user", user_id=uuid4())
CURATOR = Principal(kind="user", user_id=uuid4(), permissions=frozenset({"builds.read"}))
UPDATER = Principal(kind="user", user_id=uuid4(), permissions=frozenset({"builds.update"}))
PACKAGER = Principal(kind="user", user_id=uuid4(), permissions=frozenset({"builds.read", "builds.update"}))


class FakeProducts:
    """One listed product of OWNER's, as the products store's access query returns it."""

    def __init__(self) -> None:
        self.id = uuid4()

    async def product_access(self, conn: Any, product_id: UUID, lock: bool = False) -> dict[str, Any] | None:
        if product_id != self.id:
            return None
        return {"id": self.id, "user_id": OWNER_ID, "name": "Growth chart", "listed": True}


class FakeBuilds:
    def __init__(self) -> None:
        self.rows: dict[UUID, dict[str, Any]] = {}

    def add(self, product_id: UUID, status: str, published: bool) -> UUID:
        build_id = uuid4()
        self.rows[build_id] = {
            "id": build_id,
            "product_id": product_id,
            "status": status,
            "published_at": "2025-01-01T00:00:00Z" if published else None,
        }
        return build_id

    async def get_build(self, conn: Any, build_id: UUID, lock: bool = False) -> dict[str, Any] | None:
        row = self.rows.get(build_id)
        return dict(row) if row is not None else None


@pytest.fixture
def stores(monkeypatch: pytest.MonkeyPatch) -> tuple[FakeProducts, FakeBuilds]:
    products, builds = FakeProducts(), FakeBuilds()
    monkeypatch.setattr(products_service, "store", products)
    monkeypatch.setattr(access, "store", builds)
    return products, builds


async def test_unpublished_builds_are_for_the_owner_and_build_readers(
    stores: tuple[FakeProducts, FakeBuilds],
) -> None:
    products, builds = stores
    published = builds.add(products.id, "published", published=True)
    draft = builds.add(products.id, "draft", published=False)
    for who in (Principal(), CUSTOMER, OWNER, CURATOR):
        assert (await access.readable_build(CONN, who, products.id, published))["id"] == published
    for who in (OWNER, CURATOR):
        assert (await access.readable_build(CONN, who, products.id, draft))["id"] == draft
    for who in (Principal(), CUSTOMER, UPDATER):  # changing builds is not seeing drafts
        with pytest.raises(NotFound):
            await access.readable_build(CONN, who, products.id, draft)


async def test_a_build_is_found_only_under_its_own_product(stores: tuple[FakeProducts, FakeBuilds]) -> None:
    products, builds = stores
    elsewhere = builds.add(uuid4(), "published", published=True)
    with pytest.raises(NotFound):
        await access.readable_build(CONN, OWNER, products.id, elsewhere)


@pytest.mark.parametrize("status", ["draft", "rejected", "changes_requested", "auto_rejected"])
async def test_drafts_and_builds_sent_back_can_change(
    stores: tuple[FakeProducts, FakeBuilds], status: str
) -> None:
    products, builds = stores
    build = builds.add(products.id, status, published=False)
    assert (await access.changeable_build(CONN, OWNER, products.id, build))["status"] == status


@pytest.mark.parametrize("status", ["submitted", "awaiting_review", "published"])
async def test_a_build_under_review_or_published_cannot_change_but_can_be_deleted(
    stores: tuple[FakeProducts, FakeBuilds], status: str
) -> None:
    products, builds = stores
    build = builds.add(products.id, status, published=status == "published")
    with pytest.raises(Conflict):
        await access.changeable_build(CONN, OWNER, products.id, build)
    row = await access.changeable_build(CONN, OWNER, products.id, build, "delete", editable=False)
    assert row["id"] == build


async def test_changing_someone_elses_build_takes_the_permission(
    stores: tuple[FakeProducts, FakeBuilds],
) -> None:
    products, builds = stores
    draft = builds.add(products.id, "draft", published=False)
    with pytest.raises(Forbidden):
        await access.changeable_build(CONN, CURATOR, products.id, draft)
    assert (await access.changeable_build(CONN, PACKAGER, products.id, draft))["id"] == draft
