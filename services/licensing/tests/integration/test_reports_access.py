"""Who reads usage reports: auditors and staff everything, a vendor its own products only.

A vendor asking by another vendor's product or vendor id gets 404, the same answer as
for an id that does not exist (ids cannot be probed); nobody else reads reports (403,
anonymous 401), and the refusal comes before any report is computed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from uuid import UUID, uuid4

from hspm.common.auth import Principal

Licensing = Any  # the conftest's fixture
WHEN = datetime(2025, 6, 2, 12, tzinfo=UTC)
PATHS = ("/usage_reports", "/usage_reports/sharing")
ISV_KEYS = frozenset({"products.create"})


def persona(keys: frozenset[str], name: str = "P", **kw: Any) -> Principal:
    return Principal(kind="user", user_id=uuid4(), session_id=uuid4(), name=name, permissions=keys, **kw)


async def attempt(licensing: Licensing, product_id: UUID, outcome: str = "granted") -> None:
    await (await licensing.db()).execute(
        "INSERT INTO attempts (id, product_id, claimant_type, claimant_id, granted, outcome, created_at) "
        "VALUES ($1, $2, 'User', $3, $4, $5, $6)",
        uuid4(),
        product_id,
        uuid4(),
        outcome == "granted",
        outcome,
        WHEN,
    )


def url(path: str = "/usage_reports", **query: Any) -> str:
    return f"{path}?{urlencode({'from': '2025-06-01', 'to': '2025-07-01'} | query)}"


async def two_vendors(licensing: Licensing) -> tuple[UUID, UUID]:
    mine = await licensing.product(licensing.isv, name="Mine")
    theirs = await licensing.product(licensing.other_isv, name="Theirs")
    for product in (mine, mine, theirs):
        await attempt(licensing, product)
    await attempt(licensing, uuid4(), "not_found")
    return mine, theirs


async def test_auditors_and_staff_read_every_vendor(licensing: Licensing) -> None:
    await two_vendors(licensing)
    for who in (licensing.auditor, licensing.operator, licensing.admin):
        r = await licensing.get(url(group_by="vendor"), who)
        assert r.status == 200, r
        assert r.body["total_entries"] == 3  # both vendors and the unknown product's attempts


async def test_a_vendor_reads_only_its_own_products(licensing: Licensing) -> None:
    mine, _ = await two_vendors(licensing)
    products = await licensing.get(url(), licensing.isv)
    assert [(r["product_id"], r["attempts"]) for r in products.body["results"]] == [(str(mine), 2)]
    vendors = await licensing.get(url(group_by="vendor"), licensing.isv)
    assert [(r["vendor_id"], r["attempts"]) for r in vendors.body["results"]] == [
        (str(licensing.isv.user_id), 2)
    ]
    periods = await licensing.get(url(group_by="period", period="month"), licensing.isv)
    assert [r["attempts"] for r in periods.body["results"]] == [2]
    claimants = await licensing.get(url(group_by="claimant"), licensing.isv)
    assert claimants.body["total_entries"] == 2
    own = await licensing.get(url(product_id=str(mine), vendor_id=str(licensing.isv.user_id)), licensing.isv)
    assert [r["attempts"] for r in own.body["results"]] == [2]


async def test_another_vendors_ids_are_as_unknown_as_missing_ones(licensing: Licensing) -> None:
    _, theirs = await two_vendors(licensing)
    for path in PATHS:
        for query in (
            {"product_id": str(theirs)},
            {"product_id": str(uuid4())},
            {"vendor_id": str(licensing.other_isv.user_id)},
        ):
            r = await licensing.get(url(path, **query), licensing.isv)
            assert r.status == 404, (path, query, r)
            assert "Theirs" not in r.raw.decode()
        csv = await licensing.get(url(path, product_id=str(theirs), format="csv"), licensing.isv)
        assert csv.status == 404, csv
    # An auditor asking for a product nobody has simply finds no attempts.
    nothing = await licensing.get(url(product_id=str(uuid4())), licensing.auditor)
    assert (nothing.status, nothing.body["results"]) == (200, [])


async def test_everyone_else_is_refused(licensing: Licensing) -> None:
    await two_vendors(licensing)
    scoped_isv = persona(ISV_KEYS, name="Scoped ISV", scopes=frozenset({"products.create"}))
    await licensing.user(scoped_isv)
    await licensing.product(scoped_isv)
    for path in PATHS:
        assert (await licensing.get(url(path))).status == 401
        for who in (licensing.customer, persona(ISV_KEYS), scoped_isv):
            r = await licensing.get(url(path), who)
            assert r.status == 403, (path, who.name, r)
        # The CSV download is refused the same way.
        assert (await licensing.get(url(path, format="csv"), licensing.customer)).status == 403
    # A token scoped to attempts.read keeps the vendor's own reports.
    reader = persona(ISV_KEYS, name="Reading ISV", scopes=frozenset({"attempts.read"}))
    await licensing.user(reader)
    product = await licensing.product(reader)
    await attempt(licensing, product)
    r = await licensing.get(url(), reader)
    assert [row["product_id"] for row in r.body["results"]] == [str(product)]
