"""Usage reports: exact counts on a known set of attempts, per grouping and per period.

The fixture (March 2025, UTC), written straight into ``attempts`` so nothing depends on
the runtime check's routes:

    product  claimant  outcome          when (UTC)
    Alpha    u1        granted (c1)     03-03 10:00, 03-03 10:05, 03-10 09:00
    Alpha    u2        no_entitlement   03-03 23:59:59, 03-04 00:00:00   (a day boundary)
    Alpha    g1 Group  granted (cg)     03-17 12:00
    Alpha    u3        not_found        03-31 23:59:59.999               (the last instant)
    Beta     u1        granted (c2)     03-10 09:30
    Beta     u3        no_entitlement   03-20 08:00
    Gamma    u2        granted (c3)     03-05 08:00, 03-06 08:00         (another vendor)
    unknown  u1        not_found        03-15 08:00                      (no such product)
    Alpha    u1        granted          02-28 23:59:59.999999, 04-01 00:00 (outside [from, to))
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from uuid import UUID, uuid4

Licensing = Any  # the conftest's fixture

FROM, TO = "2025-03-01T00:00:00Z", "2025-04-01T00:00:00Z"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def attempt(
    licensing: Licensing,
    product_id: UUID,
    claimant_id: UUID,
    outcome: str,
    when: datetime,
    *,
    claimant_type: str = "User",
    claim_id: UUID | None = None,
) -> None:
    granted = outcome == "granted"
    await (await licensing.db()).execute(
        "INSERT INTO attempts (id, product_id, claimant_type, claimant_id, claim_id, entitlement_id, "
        "granted, outcome, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        uuid4(),
        product_id,
        claimant_type,
        claimant_id,
        claim_id if granted else None,
        uuid4() if granted else None,
        granted,
        outcome,
        when,
    )


@dataclass
class March:
    alpha: UUID
    beta: UUID
    gamma: UUID
    unknown: UUID
    u1: UUID
    u2: UUID
    u3: UUID
    g1: UUID


async def march(licensing: Licensing) -> March:
    m = March(
        alpha=await licensing.product(licensing.isv, name="Alpha"),
        beta=await licensing.product(licensing.isv, name="Beta"),
        gamma=await licensing.product(licensing.other_isv, name="Gamma"),
        unknown=uuid4(),
        u1=uuid4(),
        u2=uuid4(),
        u3=uuid4(),
        g1=uuid4(),
    )
    c1, c2, c3, cg = uuid4(), uuid4(), uuid4(), uuid4()
    rows: list[tuple[UUID, UUID, str, str, dict[str, Any]]] = [
        (m.alpha, m.u1, "granted", "2025-03-03T10:00:00", {"claim_id": c1}),
        (m.alpha, m.u1, "granted", "2025-03-03T10:05:00", {"claim_id": c1}),
        (m.alpha, m.u1, "granted", "2025-03-10T09:00:00", {"claim_id": c1}),
        (m.alpha, m.u2, "no_entitlement", "2025-03-03T23:59:59", {}),
        (m.alpha, m.u2, "no_entitlement", "2025-03-04T00:00:00", {}),
        (m.alpha, m.g1, "granted", "2025-03-17T12:00:00", {"claim_id": cg, "claimant_type": "Group"}),
        (m.alpha, m.u3, "not_found", "2025-03-31T23:59:59.999000", {}),
        (m.beta, m.u1, "granted", "2025-03-10T09:30:00", {"claim_id": c2}),
        (m.beta, m.u3, "no_entitlement", "2025-03-20T08:00:00", {}),
        (m.gamma, m.u2, "granted", "2025-03-05T08:00:00", {"claim_id": c3}),
        (m.gamma, m.u2, "granted", "2025-03-06T08:00:00", {"claim_id": c3}),
        (m.unknown, m.u1, "not_found", "2025-03-15T08:00:00", {}),
        (m.alpha, m.u1, "granted", "2025-02-28T23:59:59.999999", {"claim_id": c1}),
        (m.alpha, m.u1, "granted", "2025-04-01T00:00:00", {"claim_id": c1}),
    ]
    for product, claimant, outcome, when, kw in rows:
        await attempt(licensing, product, claimant, outcome, at(when), **kw)
    return m


def url(path: str = "/usage_reports", **query: Any) -> str:
    return f"{path}?{urlencode({'from': FROM, 'to': TO, 'per_page': 100} | query)}"


def numbers(row: dict[str, Any]) -> tuple[int, ...]:
    keys = ("attempts", "grants", "denials", "not_found", "distinct_claimants", "suspected_sharing")
    return tuple(row[k] for k in keys)


async def test_by_product_counts_each_outcome_and_distinct_claimants(licensing: Licensing) -> None:
    m = await march(licensing)
    r = await licensing.get(url(group_by="product"), licensing.auditor)
    assert r.status == 200, r
    rows = {row["product_id"]: row for row in r.body["results"]}
    assert numbers(rows[str(m.alpha)]) == (7, 4, 2, 1, 4, 0)
    assert numbers(rows[str(m.beta)]) == (2, 1, 1, 0, 2, 0)
    assert numbers(rows[str(m.gamma)]) == (2, 2, 0, 0, 1, 0)
    assert numbers(rows[str(m.unknown)]) == (1, 0, 0, 1, 1, 0)
    alpha = rows[str(m.alpha)]
    assert (alpha["product_name"], alpha["vendor_id"]) == ("Alpha", str(licensing.isv.user_id))
    assert (alpha["first_at"], alpha["last_at"]) == ("2025-03-03T10:00:00Z", "2025-03-31T23:59:59.999000Z")
    assert (rows[str(m.unknown)]["product_name"], rows[str(m.unknown)]["vendor_id"]) == (None, None)
    assert r.body["total_entries"] == 4
    # Busiest first by default.
    assert [row["attempts"] for row in r.body["results"]] == [7, 2, 2, 1]


async def test_by_vendor_and_by_claimant(licensing: Licensing) -> None:
    m = await march(licensing)
    by_vendor = await licensing.get(url(group_by="vendor"), licensing.operator)
    rows = {row["vendor_id"]: numbers(row) for row in by_vendor.body["results"]}
    assert rows == {
        str(licensing.isv.user_id): (9, 5, 3, 1, 4, 0),
        str(licensing.other_isv.user_id): (2, 2, 0, 0, 1, 0),
        None: (1, 0, 0, 1, 1, 0),
    }
    by_claimant = await licensing.get(url(group_by="claimant"), licensing.auditor)
    claimants = {(r["claimant_type"], r["claimant_id"]): numbers(r) for r in by_claimant.body["results"]}
    assert claimants == {
        ("User", str(m.u1)): (5, 4, 0, 1, 1, 0),
        ("User", str(m.u2)): (4, 2, 2, 0, 1, 0),
        ("User", str(m.u3)): (2, 0, 1, 1, 1, 0),
        ("Group", str(m.g1)): (1, 1, 0, 0, 1, 0),
    }


async def test_daily_buckets_are_utc_days_and_empty_days_are_listed(licensing: Licensing) -> None:
    await march(licensing)
    r = await licensing.get(url(group_by="period", period="day"), licensing.auditor)
    assert r.status == 200, r
    days = {row["period_start"][:10]: row for row in r.body["results"]}
    assert r.body["total_entries"] == len(days) == 31
    starts = [row["period_start"] for row in r.body["results"]]
    assert starts[:2] == ["2025-03-01T00:00:00Z", "2025-03-02T00:00:00Z"]
    assert days["2025-03-03"]["period_end"] == "2025-03-04T00:00:00Z"
    # 23:59:59 belongs to the 3rd, midnight to the 4th.
    assert numbers(days["2025-03-03"]) == (3, 2, 1, 0, 2, 0)
    assert numbers(days["2025-03-04"]) == (1, 0, 1, 0, 1, 0)
    assert numbers(days["2025-03-10"]) == (2, 2, 0, 0, 1, 0)
    assert numbers(days["2025-03-31"]) == (1, 0, 0, 1, 1, 0)
    assert numbers(days["2025-03-02"]) == (0, 0, 0, 0, 0, 0)
    assert days["2025-03-02"]["first_at"] is None
    assert sum(row["attempts"] for row in days.values()) == 12


async def test_weeks_start_on_monday_and_months_on_the_first(licensing: Licensing) -> None:
    await march(licensing)
    weeks = await licensing.get(url(group_by="period", period="week"), licensing.auditor)
    # 1 March 2025 is a Saturday: its week began on Monday 24 February.
    got = [(row["period_start"][:10], row["attempts"]) for row in weeks.body["results"]]
    assert got == [
        ("2025-02-24", 0),
        ("2025-03-03", 6),
        ("2025-03-10", 3),
        ("2025-03-17", 2),
        ("2025-03-24", 0),
        ("2025-03-31", 1),
    ]
    months = await licensing.get(url(group_by="period", period="month"), licensing.auditor)
    assert [(row["period_start"], row["period_end"]) for row in months.body["results"]] == [
        ("2025-03-01T00:00:00Z", "2025-04-01T00:00:00Z")
    ]
    assert numbers(months.body["results"][0]) == (12, 7, 3, 2, 4, 0)
    assert months.body["report"]["period"] == "month"


async def test_the_window_is_half_open_and_offsets_are_honoured(licensing: Licensing) -> None:
    m = await march(licensing)
    # 12:05+02:00 is 10:05Z: the 10:05 attempt is in, the next minute's end is out.
    r = await licensing.get(
        url(**{"from": "2025-03-03T12:05:00+02:00", "to": "2025-03-03T12:06:00+02:00"}), licensing.auditor
    )
    assert [(row["product_id"], row["attempts"]) for row in r.body["results"]] == [(str(m.alpha), 1)]
    assert r.body["report"]["from"] == "2025-03-03T10:05:00Z"
    # A date alone is its midnight UTC.
    day = await licensing.get(url(**{"from": "2025-03-04", "to": "2025-03-05"}), licensing.auditor)
    assert [row["attempts"] for row in day.body["results"]] == [1]


async def test_filters_narrow_every_grouping(licensing: Licensing) -> None:
    m = await march(licensing)
    groups = await licensing.get(url(group_by="product", claimant_type="Group"), licensing.auditor)
    assert [(row["product_id"], numbers(row)) for row in groups.body["results"]] == [
        (str(m.alpha), (1, 1, 0, 0, 1, 0))
    ]
    other = str(licensing.other_isv.user_id)
    vendor = await licensing.get(url(group_by="claimant", vendor_id=other), licensing.auditor)
    assert [(row["claimant_id"], row["attempts"]) for row in vendor.body["results"]] == [(str(m.u2), 2)]
    beta = url(group_by="period", period="month", product_id=str(m.beta))
    product = await licensing.get(beta, licensing.auditor)
    assert numbers(product.body["results"][0]) == (2, 1, 1, 0, 2, 0)


async def test_paging_and_sorting_follow_the_spec_envelope(licensing: Licensing) -> None:
    m = await march(licensing)
    first = await licensing.get(url(sort="product_name", order="asc", per_page=2), licensing.auditor)
    assert [row["product_name"] for row in first.body["results"]] == ["Alpha", "Beta"]
    assert (first.body["total_entries"], first.body["total_pages"], first.body["next_page"]) == (4, 2, 2)
    second = await licensing.get(url(sort="product_name", order="asc", per_page=2, page=2), licensing.auditor)
    # The unknown product has no name: sorted last whatever the order.
    assert [row["product_id"] for row in second.body["results"]] == [str(m.gamma), str(m.unknown)]
    past = await licensing.get(url(per_page=2, page=9), licensing.auditor)
    assert (past.status, past.body["results"], past.body["total_entries"]) == (200, [], 4)


async def test_the_default_window_is_the_last_30_days(licensing: Licensing) -> None:
    product = await licensing.product(licensing.isv, name="Recent")
    now = datetime.now(UTC)
    await attempt(licensing, product, uuid4(), "granted", now - timedelta(days=1), claim_id=uuid4())
    await attempt(licensing, product, uuid4(), "granted", now - timedelta(days=31), claim_id=uuid4())
    r = await licensing.get("/usage_reports", licensing.auditor)
    assert [row["attempts"] for row in r.body["results"]] == [1]
    report = r.body["report"]
    span = datetime.fromisoformat(report["to"]) - datetime.fromisoformat(report["from"])
    assert (report["group_by"], span) == ("product", timedelta(days=30))
    assert report["sharing"] == {"window_minutes": 60, "max_sources": 3}


async def test_bad_parameters_are_422_with_the_field_named(licensing: Licensing) -> None:
    cases = {
        "group_by=license": "group_by",
        "group_by=period&period=year": "period",
        "from=2025-03-02&to=2025-03-01": "to",
        "from=2025-03-01&to=2025-03-01": "to",
        "from=2024-01-01&to=2025-01-02": "to",
        "from=yesterday": "from",
        "from=2025-13-01": "from",
        "to=2025-03-01T25:00:00": "to",
        "from=1900-01-01&to=1900-02-01": "from",
        "from=" + "2" * 100: "from",
        "product_id=not-a-uuid": "product_id",
        "claimant_type=user": "claimant_type",
        "format=xml": "format",
        "sort=password": "sort",
        "per_page=0": "per_page",
    }
    for query, field in cases.items():
        r = await licensing.get(f"/usage_reports?{query}", licensing.auditor)
        assert r.status == 422, (query, r)
        assert field in r.errors, (query, r.errors)
    sharing = await licensing.get("/usage_reports/sharing?from=2025-03-02&to=2025-03-01", licensing.auditor)
    assert (sharing.status, list(sharing.errors)) == (422, ["to"])
    # Every problem at once.
    both = await licensing.get("/usage_reports?group_by=x&from=y", licensing.auditor)
    assert set(both.errors) == {"group_by", "from"}
    # A full year with its leap day is allowed.
    leap = await licensing.get("/usage_reports?from=2024-01-01&to=2025-01-01", licensing.auditor)
    assert leap.status == 200, leap
