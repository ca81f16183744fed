"""Usage reports as CSV: chosen by Accept or format, RFC 4180, formula-safe, and bounded."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from uuid import UUID, uuid4

Licensing = Any  # the conftest's fixture
WHEN = datetime(2025, 7, 14, 9, 30, tzinfo=UTC)
RANGE = {"from": "2025-07-01T00:00:00Z", "to": "2025-08-01T00:00:00Z"}
CSV = {"Accept": "text/csv"}


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


def url(**query: Any) -> str:
    return f"/usage_reports?{urlencode(RANGE | query)}"


def parse(raw: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))


async def test_accept_text_csv_gives_an_attachment_with_a_header_row(licensing: Licensing) -> None:
    product = await licensing.product(licensing.isv, name="Plain")
    await attempt(licensing, product)
    await attempt(licensing, product, "no_entitlement")
    r = await licensing.get(url(), licensing.auditor, headers=CSV)
    assert r.status == 200, r
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert r.headers["Content-Disposition"] == (
        'attachment; filename="usage-product-20250701T000000Z-20250801T000000Z.csv"'
    )
    assert (r.headers["X-Report-Truncated"], r.headers["X-Report-Rows"]) == ("false", "1")
    assert r.raw.endswith(b"\r\n") and r.raw.count(b"\r\n") == 2
    header, line = parse(r.raw)
    assert header == [
        "product_id", "product_name", "vendor_id", "attempts", "grants", "denials", "not_found",
        "distinct_claimants", "suspected_sharing", "first_at", "last_at",
    ]  # fmt: skip
    assert line == [
        str(product), "Plain", str(licensing.isv.user_id), "2", "1", "1", "0", "2", "0",
        "2025-07-14T09:30:00Z", "2025-07-14T09:30:00Z",
    ]  # fmt: skip


async def test_cells_that_a_spreadsheet_would_run_are_neutralized(licensing: Licensing) -> None:
    names = ["=SUM(A1:A9)", "+31 6 1234", "-2+3", "@cmd", 'Comma, "quote"\r\nand a line', "Fine"]
    for name in names:
        await attempt(licensing, await licensing.product(licensing.isv, name=name))
    r = await licensing.get(url(format="csv", sort="product_name"), licensing.auditor)
    shown = [row[1] for row in parse(r.raw)[1:]]
    assert sorted(shown) == sorted(
        ["'=SUM(A1:A9)", "'+31 6 1234", "'-2+3", "'@cmd", 'Comma, "quote"\r\nand a line', "Fine"]
    )
    # RFC 4180: the field with a comma, quotes and a line break is quoted, quotes doubled.
    assert b'"Comma, ""quote""\r\nand a line"' in r.raw


async def test_format_wins_over_accept_and_json_is_the_default(licensing: Licensing) -> None:
    await attempt(licensing, await licensing.product(licensing.isv))
    as_json = await licensing.get(url(format="json"), licensing.auditor, headers=CSV)
    assert as_json.content_type == "application/json"
    preferred = await licensing.get(
        url(), licensing.auditor, headers={"Accept": "application/json;q=0.5, text/csv"}
    )
    assert preferred.content_type == "text/csv"
    anything = await licensing.get(url(), licensing.auditor, headers={"Accept": "*/*"})
    assert anything.content_type == "application/json"
    neither = await licensing.get(url(), licensing.auditor, headers={"Accept": "image/png"})
    assert neither.status == 406, neither
    by_period = await licensing.get(url(group_by="period", period="week"), licensing.auditor, headers=CSV)
    assert 'filename="usage-period-' in by_period.headers["Content-Disposition"]
    assert parse(by_period.raw)[0][:2] == ["period_start", "period_end"]
    assert len(parse(by_period.raw)) == 1 + 5  # the weeks touching July 2025, from Monday 30 June


async def test_a_download_stops_at_10000_rows_and_says_so(licensing: Licensing) -> None:
    product = await licensing.product(licensing.isv)
    await (await licensing.db()).execute(
        "INSERT INTO attempts (id, product_id, claimant_type, claimant_id, granted, outcome, created_at) "
        "SELECT gen_random_uuid(), $1, 'User', gen_random_uuid(), true, 'granted', $2 "
        "FROM generate_series(1, 10001)",
        product,
        WHEN,
    )
    r = await licensing.get(url(group_by="claimant"), licensing.auditor, headers=CSV)
    assert r.status == 200, r
    assert (r.headers["X-Report-Truncated"], r.headers["X-Report-Rows"]) == ("true", "10000")
    assert (r.headers["X-Report-Total-Rows"], r.headers["X-Report-Row-Limit"]) == ("10001", "10000")
    assert len(parse(r.raw)) == 1 + 10_000
    # JSON pages through all of them instead.
    page = await licensing.get(url(group_by="claimant", per_page=100), licensing.auditor)
    assert (page.body["total_entries"], page.body["total_pages"]) == (10_001, 101)
