"""Who sees a product and who may change it: the rules every catalog area asks of products.

The products service runs against an in-memory products store (``listed`` computed from
``published_at`` and ``visible_at`` as the SQL does) and a list as the outbox, so what is
checked is the rule itself: drafts and embargoed products are the owner's and product
readers' alone, an unseen product is 404 before any 403, and a change takes the owner
(within a token's scopes) or the permission.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from hspm.catalog.products import models, service, shown
from hspm.catalog.stamped import Stamp
from hspm.common.auth import Principal
from hspm.common.errors import Forbidden, NotFound, Unauthorized
from hspm.common.events.base import Event

CONN: Any = None  # the fakes keep everything in memory; no connection is needed
NOW = datetime.now(UTC)
PAST, FUTURE = NOW - timedelta(days=1), NOW + timedelta(days=1)


class FakeProducts:
    """The products store in memory; rows are handed out as copies, as a database would."""

    def __init__(self) -> None:
        self.rows: dict[UUID, dict[str, Any]] = {}
        self.locked: list[UUID] = []

    def add(self, owner: UUID, published_at: datetime | None, visible_at: datetime | None) -> UUID:
        product_id = uuid4()
        self.rows[product_id] = {
            "id": product_id,
            "user_id": owner,
            "name": f"Product {product_id.hex[:6]}",
            "published_at": published_at,
            "visible_at": visible_at,
        }
        return product_id

    def _row(self, product_id: UUID) -> dict[str, Any] | None:
        row = self.rows.get(product_id)
        if row is None:
            return None
        published, visible = row["published_at"], row["visible_at"]
        listed = published is not None and published <= NOW and visible is not None and visible <= NOW
        return dict(row, listed=listed)

    async def product_access(self, conn: Any, product_id: UUID, lock: bool = False) -> dict[str, Any] | None:
        if lock:
            self.locked.append(product_id)
        return self._row(product_id)

    async def get_product(self, conn: Any, product_id: UUID) -> dict[str, Any] | None:
        return self._row(product_id)

    async def update_product(
        self, conn: Any, product_id: UUID, fields: dict[str, Any]
    ) -> dict[str, Any] | None:
        self.rows[product_id].update(fields)
        return self._row(product_id)

    async def publish(
        self, conn: Any, product_id: UUID, replace: bool, visible_at: Any
    ) -> dict[str, Any] | None:
        row = self.rows[product_id]
        row["published_at"] = NOW
        row["visible_at"] = visible_at if replace else row["visible_at"] or NOW
        return self._row(product_id)


def user(*keys: str, user_id: UUID | None = None, scopes: frozenset[str] | None = None) -> Principal:
    return Principal(kind="user", user_id=user_id or uuid4(), permissions=frozenset(keys), scopes=scopes)


OWNER_ID = uuid4()
OWNER = user("products.create", user_id=OWNER_ID)
OTHER = user("products.create")
CUSTOMER = user()
ANONYMOUS = Principal()
READER = user("products.read")
MANAGER = user("products.read", "products.update")
PUBLISHER = user("products.publish")


@pytest.fixture
def products(monkeypatch: pytest.MonkeyPatch) -> FakeProducts:
    fake = FakeProducts()
    monkeypatch.setattr(service, "store", fake)
    return fake


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> list[Event]:
    emitted: list[Event] = []

    async def emit(conn: Any, event: Event) -> None:
        emitted.append(event)

    monkeypatch.setattr(service, "emit", emit)
    return emitted


def kinds(products: FakeProducts) -> dict[str, UUID]:
    """One product of each kind, all owned by OWNER."""
    return {
        "listed": products.add(OWNER_ID, PAST, PAST),
        "draft": products.add(OWNER_ID, None, None),
        "embargoed": products.add(OWNER_ID, PAST, FUTURE),
        "unpublished_with_a_date": products.add(OWNER_ID, None, PAST),
    }


async def seen(p: Principal, product_id: UUID) -> bool:
    try:
        await service.visible_product(CONN, p, product_id)
    except NotFound:
        return False
    return True


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        (ANONYMOUS, {"listed"}),
        (CUSTOMER, {"listed"}),
        (OTHER, {"listed"}),
        (OWNER, {"listed", "draft", "embargoed", "unpublished_with_a_date"}),
        (READER, {"listed", "draft", "embargoed", "unpublished_with_a_date"}),
        (PUBLISHER, {"listed"}),
    ],
    ids=["anonymous", "customer", "other-isv", "owner", "products.read", "products.publish"],
)
async def test_who_sees_which_product(products: FakeProducts, who: Principal, sees: set[str]) -> None:
    by_kind = kinds(products)
    assert {kind for kind, pid in by_kind.items() if await seen(who, pid)} == sees


async def test_showing_a_product_applies_the_same_rule_to_the_rendered_row(products: FakeProducts) -> None:
    by_kind = kinds(products)

    async def show(who: Principal, pid: UUID) -> UUID:
        async def run() -> tuple[shown.Shown, Stamp]:
            row = products._row(pid)  # listed as the SQL computes it
            return shown.Shown(row["user_id"], row["listed"], str(pid).encode()), Stamp(1, None)

        kept = await shown.shown_product(shown.ShownCache(0), who, pid, _no_clock, run)
        return UUID(kept.body.decode())

    assert await show(ANONYMOUS, by_kind["listed"]) == by_kind["listed"]
    assert await show(OWNER, by_kind["embargoed"]) == by_kind["embargoed"]
    with pytest.raises(NotFound):
        await show(CUSTOMER, by_kind["embargoed"])


async def _no_clock() -> tuple[int, datetime]:
    raise AssertionError("a cache of size 0 reads no clock")


async def test_a_missing_product_and_an_unseen_one_answer_alike(products: FakeProducts) -> None:
    draft = kinds(products)["draft"]
    with pytest.raises(NotFound) as missing:
        await service.visible_product(CONN, CUSTOMER, uuid4())
    with pytest.raises(NotFound) as unseen:
        await service.visible_product(CONN, CUSTOMER, draft)
    assert str(missing.value) == str(unseen.value)


def test_only_products_read_sees_drafts_of_others() -> None:
    assert service.sees_drafts(READER) and service.sees_drafts(user("everything.manage"))
    # Owners see their own drafts through ``may_see``, not through this right.
    assert not any(service.sees_drafts(p) for p in (ANONYMOUS, CUSTOMER, OWNER, OTHER, PUBLISHER))


@pytest.mark.parametrize("kind", ["listed", "draft", "embargoed"])
async def test_the_owner_may_change_their_product_and_it_is_locked(products: FakeProducts, kind: str) -> None:
    pid = kinds(products)[kind]
    row = await service.product_for_change(CONN, OWNER, pid, "products", "update")
    assert row["id"] == pid and products.locked == [pid]


async def test_a_permission_holder_may_change_anothers_product(products: FakeProducts) -> None:
    draft = kinds(products)["draft"]
    assert (await service.product_for_change(CONN, MANAGER, draft, "products", "update"))["id"] == draft


async def test_seeing_is_not_changing(products: FakeProducts) -> None:
    by_kind = kinds(products)
    for who in (READER, OTHER, CUSTOMER):
        with pytest.raises(Forbidden):
            await service.product_for_change(CONN, who, by_kind["listed"], "products", "update")
    with pytest.raises(Unauthorized):
        await service.product_for_change(CONN, ANONYMOUS, by_kind["listed"], "products", "update")


async def test_an_unseen_product_is_404_before_any_403(products: FakeProducts) -> None:
    draft = kinds(products)["draft"]
    for who in (OTHER, CUSTOMER, ANONYMOUS):
        with pytest.raises(NotFound):
            await service.product_for_change(CONN, who, draft, "products", "update")


async def test_a_scoped_token_narrows_the_owners_rights(products: FakeProducts) -> None:
    listed = kinds(products)["listed"]
    narrow = user(user_id=OWNER_ID, scopes=frozenset({"builds.create"}))
    assert await service.product_for_change(CONN, narrow, listed, "builds", "create")
    with pytest.raises(Forbidden):
        await service.product_for_change(CONN, narrow, listed, "products", "update")


async def test_giving_a_product_away_is_a_product_managers_act(
    products: FakeProducts, events: list[Event]
) -> None:
    listed = kinds(products)["listed"]
    with pytest.raises(Forbidden):
        await service.update_product(CONN, OWNER, listed, models.ProductUpdate(user_id=OTHER.user_id))
    assert products.rows[listed]["user_id"] == OWNER_ID and events == []
    renamed = await service.update_product(CONN, OWNER, listed, models.ProductUpdate(name="Renamed"))
    assert renamed["name"] == "Renamed"
    given = await service.update_product(CONN, MANAGER, listed, models.ProductUpdate(user_id=OTHER.user_id))
    assert given["user_id"] == OTHER.user_id
    assert [type(e).__name__ for e in events] == ["ProductUpdated", "ProductUpdated"]


async def test_publishing_takes_the_permission_even_for_the_owner(
    products: FakeProducts, events: list[Event]
) -> None:
    draft = kinds(products)["draft"]
    with pytest.raises(Forbidden):
        await service.publish_product(CONN, OWNER, draft, models.Publication())
    with pytest.raises(NotFound):  # the publisher cannot see someone's draft: nothing to publish
        await service.publish_product(CONN, PUBLISHER, draft, models.Publication())
    both = user("products.read", "products.publish")
    row = await service.publish_product(CONN, both, draft, models.Publication())
    assert row["listed"] is True and await seen(ANONYMOUS, draft)
    assert [type(e).__name__ for e in events] == ["ProductPublished"]


# --- issue 9: an embargo is staff's ---------------------------------------------------------

STAFF = user("products.read", "products.update", "products.publish")


@pytest.mark.parametrize(
    ("who", "new", "allowed"),
    [
        (OWNER, NOW, False),  # sooner
        (OWNER, FUTURE - timedelta(hours=1), False),  # still sooner
        (OWNER, None, False),  # cleared
        (OWNER, FUTURE, True),  # unchanged (the UI echoes the product back)
        (OWNER, FUTURE + timedelta(days=1), True),  # postponed
        (MANAGER, NOW, False),  # products.update is not products.publish
        (STAFF, NOW, True),
        (STAFF, None, True),
        (user("everything.manage"), PAST, True),
    ],
    ids=[
        "sooner",
        "still-sooner",
        "cleared",
        "unchanged",
        "postponed",
        "manager",
        "staff",
        "staff-clears",
        "admin",
    ],
)
async def test_owner_cannot_lift_an_operators_embargo(
    products: FakeProducts, events: list[Event], who: Principal, new: datetime | None, allowed: bool
) -> None:
    embargoed = kinds(products)["embargoed"]
    change = models.ProductUpdate(visible_at=new)
    if allowed:
        row = await service.update_product(CONN, who, embargoed, change)
        assert row["visible_at"] == new and len(events) == 1
    else:
        with pytest.raises(Forbidden):
            await service.update_product(CONN, who, embargoed, change)
        assert products.rows[embargoed]["visible_at"] == FUTURE and events == []


async def test_before_publication_visible_at_is_the_owners_proposal(
    products: FakeProducts, events: list[Event]
) -> None:
    draft = kinds(products)["unpublished_with_a_date"]
    for new in (None, NOW, PAST):
        row = await service.update_product(CONN, OWNER, draft, models.ProductUpdate(visible_at=new))
        assert row["visible_at"] == new
