"""Suspected account sharing: the rule at its limit, and the suspect windows an auditor acts on.

The rule (the service's defaults: 60-minute windows, at most 3 sources): a claim used by
one user from more than 3 distinct sources (the platform id when the check names one,
else the address) inside one fixed hour (counted from 2000-01-01T00:00Z, so 10:00-11:00)
is suspect. Group claimants are never judged: a group's licence is shared by design.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from uuid import UUID, uuid4

from hspm.licensing.keys import settings_key

Licensing = Any  # the conftest's fixture
DAY = "2025-05-05"


def at(clock: str) -> datetime:
    return datetime.fromisoformat(f"{DAY}T{clock}").replace(tzinfo=UTC)


async def use(
    licensing: Licensing,
    product_id: UUID,
    claim: tuple[UUID, UUID],
    claimant: tuple[str, UUID],
    clock: str,
    address: str | None,
    platform_id: UUID | None = None,
) -> None:
    """One granted check of ``claim`` (claim id, entitlement id) by ``claimant``."""
    await (await licensing.db()).execute(
        "INSERT INTO attempts (id, product_id, claimant_type, claimant_id, claim_id, entitlement_id, "
        "granted, outcome, address, platform_id, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, true, 'granted', $7, $8, $9)",
        uuid4(),
        product_id,
        *claimant,
        *claim,
        address,
        platform_id,
        at(clock),
    )


def new_claim() -> tuple[UUID, UUID]:
    return uuid4(), uuid4()


def user() -> tuple[str, UUID]:
    return "User", uuid4()


def url(path: str, **query: Any) -> str:
    return f"{path}?{urlencode({'from': f'{DAY}T00:00:00Z', 'to': '2025-05-06T00:00:00Z'} | query)}"


async def test_the_service_judges_with_its_settings(licensing: Licensing) -> None:
    settings = licensing.client.server.app[settings_key]
    assert (settings.sharing_window_minutes, settings.sharing_max_sources) == (60, 3)


async def test_three_sources_in_an_hour_is_allowed_four_is_suspect(licensing: Licensing) -> None:
    product = await licensing.product(licensing.isv, name="Alpha")
    platform = uuid4()
    under, over, dave, alice = new_claim(), new_claim(), user(), user()
    # Exactly 3 sources: two addresses and one platform seen behind two addresses.
    for clock, address, plat in [
        ("10:00", "10.0.0.1", None),
        ("10:10", "10.0.0.2", None),
        ("10:20", "10.0.0.3", platform),
        ("10:30", "10.0.0.4", platform),
        ("10:59:59", "10.0.0.1", None),
    ]:
        await use(licensing, product, under, dave, clock, address, plat)
    for clock, address in [
        ("10:00", "10.1.0.1"),
        ("10:15", "10.1.0.2"),
        ("10:30", "10.1.0.3"),
        ("10:45", "10.1.0.4"),
    ]:
        await use(licensing, product, over, alice, clock, address)
    # A fifth address in the next hour is another window.
    await use(licensing, product, over, alice, "11:00", "10.1.0.5")

    report = await licensing.get(url("/usage_reports"), licensing.auditor)
    assert [(row["attempts"], row["suspected_sharing"]) for row in report.body["results"]] == [(10, 1)]

    found = await licensing.get(url("/usage_reports/sharing"), licensing.auditor)
    assert found.status == 200, found
    assert found.body["total_entries"] == 1
    (row,) = found.body["results"]
    assert (row["claim_id"], row["entitlement_id"]) == (str(over[0]), str(over[1]))
    assert (row["claimant_type"], row["claimant_id"]) == ("User", str(alice[1]))
    assert (row["window_start"], row["window_end"]) == (f"{DAY}T10:00:00Z", f"{DAY}T11:00:00Z")
    assert (row["attempts"], row["distinct_sources"]) == (4, 4)
    assert row["sources"] == ["10.1.0.1", "10.1.0.2", "10.1.0.3", "10.1.0.4"]
    assert row["products"] == [{"id": str(product), "name": "Alpha"}]
    assert row["claim_url"] == f"http://marketplace.test/entitlements/{over[1]}/claims/{over[0]}"
    assert (row["first_at"], row["last_at"]) == (f"{DAY}T10:00:00Z", f"{DAY}T10:45:00Z")


async def test_windows_are_fixed_so_use_across_the_hour_is_two_windows(licensing: Licensing) -> None:
    product = await licensing.product(licensing.isv)
    claim, bob = new_claim(), user()
    # Four sources within twenty minutes, but two in each hour: neither hour exceeds 3.
    for clock, address in [("10:50", "a"), ("10:55", "b"), ("11:05", "c"), ("11:10", "d")]:
        await use(licensing, product, claim, bob, clock, address)
    found = await licensing.get(url("/usage_reports/sharing"), licensing.auditor)
    assert found.body["results"] == []


async def test_groups_are_not_judged_but_a_member_sharing_a_group_claim_is(licensing: Licensing) -> None:
    product = await licensing.product(licensing.isv)
    group_claim = new_claim()
    group = ("Group", uuid4())
    for n in range(5):
        await use(licensing, product, group_claim, group, f"10:0{n}", f"192.0.2.{n}")
    member = user()
    for n in range(6):
        await use(licensing, product, group_claim, member, f"10:1{n}", f"=cmd|' /C calc'!A{n}")
    found = await licensing.get(url("/usage_reports/sharing"), licensing.auditor)
    (row,) = found.body["results"]
    assert (row["claimant_type"], row["claimant_id"]) == ("User", str(member[1]))
    # Six sources, a sample of five (sorted).
    assert (row["distinct_sources"], len(row["sources"])) == (6, 5)
    by_claimant = await licensing.get(url("/usage_reports", group_by="claimant"), licensing.auditor)
    suspicion = {r["claimant_type"]: r["suspected_sharing"] for r in by_claimant.body["results"]}
    assert suspicion == {"Group": 0, "User": 1}


async def test_a_vendor_sees_its_own_suspects_without_the_addresses(licensing: Licensing) -> None:
    mine = await licensing.product(licensing.isv, name="Mine")
    theirs = await licensing.product(licensing.other_isv, name="Theirs")
    for product in (mine, theirs):
        claim, someone = new_claim(), user()
        for n in range(4):
            await use(licensing, product, claim, someone, f"09:0{n}", f"198.51.100.{n}")
    auditor = await licensing.get(url("/usage_reports/sharing"), licensing.auditor)
    assert auditor.body["total_entries"] == 2
    vendor = await licensing.get(url("/usage_reports/sharing"), licensing.isv)
    (row,) = vendor.body["results"]
    assert row["products"] == [{"id": str(mine), "name": "Mine"}]
    assert (row["distinct_sources"], row["sources"]) == (4, None)
    other = await licensing.get(url("/usage_reports/sharing", product_id=str(theirs)), licensing.isv)
    assert other.status == 404, other


async def test_the_sharing_csv_is_safe_to_open_in_a_spreadsheet(licensing: Licensing) -> None:
    product = await licensing.product(licensing.isv, name='@Evil, "quoted" =product')
    claim, carol = new_claim(), user()
    for n in range(4):
        await use(licensing, product, claim, carol, f"10:0{n}", f'=HYPERLINK("http://x/{n}")')
    r = await licensing.get(url("/usage_reports/sharing", format="csv"), licensing.auditor)
    assert r.status == 200, r
    assert r.content_type == "text/csv"
    assert r.headers["Content-Disposition"] == (
        'attachment; filename="sharing-20250505T000000Z-20250506T000000Z.csv"'
    )
    header, line = list(csv.reader(io.StringIO(r.raw.decode("utf-8"), newline="")))
    assert header[:4] == ["claim_id", "entitlement_id", "claimant_type", "claimant_id"]
    row = dict(zip(header, line, strict=True))
    assert row["product_names"] == '\'@Evil, "quoted" =product'
    assert row["sources"].startswith("'=HYPERLINK(")
    assert (row["distinct_sources"], row["window_start"]) == ("4", f"{DAY}T10:00:00Z")
