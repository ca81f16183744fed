"""Reading a usage report's query: defaults, time zones, bounds and the 422s, without a server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from hspm.common.errors import ValidationFailed
from hspm.licensing.reports.models import (
    DEFAULT_SPAN,
    MAX_SPAN,
    Filters,
    SharingRule,
    parse_filters,
    parse_format,
    parse_usage,
)

NOW = datetime(2025, 3, 15, 12, 30, tzinfo=UTC)


def errors_of(query: dict[str, str]) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as caught:
        parse_usage(query, NOW)
    return caught.value.errors


def test_defaults_are_by_product_over_the_last_30_days() -> None:
    q = parse_usage({}, NOW)
    assert (q.group_by, q.period) == ("product", "day")
    assert q.filters == Filters(NOW - DEFAULT_SPAN, NOW)


def test_a_lone_to_or_from_fills_in_the_other_end() -> None:
    only_to = parse_filters({"to": "2025-01-31T00:00:00Z"}, NOW)
    assert only_to.start == datetime(2025, 1, 1, tzinfo=UTC)
    only_from = parse_filters({"from": "2025-03-01"}, NOW)
    assert (only_from.start, only_from.end) == (datetime(2025, 3, 1, tzinfo=UTC), NOW)


def test_instants_are_read_in_utc() -> None:
    f = parse_filters({"from": "2025-03-01T02:00:00+02:00", "to": "2025-03-02T00:00:00"}, NOW)
    assert f.start == datetime(2025, 3, 1, tzinfo=UTC) and f.start.tzinfo is UTC
    # No offset: UTC, not the server's zone.
    assert f.end == datetime(2025, 3, 2, tzinfo=UTC)


def test_the_span_may_be_a_leap_year_and_no_more() -> None:
    leap = parse_filters({"from": "2024-01-01", "to": "2025-01-01"}, NOW)
    assert leap.end - leap.start == MAX_SPAN == timedelta(days=366)
    assert "to" in errors_of({"from": "2024-01-01", "to": "2025-01-01T00:00:00.000001Z"})


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"group_by": "Product"}, "group_by"),
        ({"period": "quarter"}, "period"),
        ({"from": "2025-03-01", "to": "2025-03-01"}, "to"),
        ({"from": "2025-03-02", "to": "2025-03-01"}, "to"),
        ({"from": "last tuesday"}, "from"),
        ({"from": "2025-02-30"}, "from"),
        ({"to": "9999-12-31"}, "to"),
        ({"from": "0001-01-01", "to": "0001-01-02"}, "from"),
        ({"from": "2025-03-01" + " " * 70}, "from"),
        ({"vendor_id": "12345"}, "vendor_id"),
        ({"product_id": str(uuid4()) + "0" * 40}, "product_id"),
        ({"claimant_type": "group"}, "claimant_type"),
    ],
)
def test_bad_values_are_refused_with_the_field_named(query: dict[str, str], field: str) -> None:
    assert field in errors_of(query)


def test_every_problem_is_reported_at_once() -> None:
    assert set(errors_of({"group_by": "x", "period": "y", "from": "z", "product_id": "w"})) == {
        "group_by",
        "period",
        "from",
        "product_id",
    }


def test_format_is_json_csv_or_left_to_accept() -> None:
    assert [parse_format({}), parse_format({"format": "csv"}), parse_format({"format": "json"})] == [
        None,
        "csv",
        "json",
    ]
    with pytest.raises(ValidationFailed):
        parse_format({"format": "xlsx"})


def test_the_sharing_window_is_a_duration() -> None:
    assert SharingRule(90, 3).window == timedelta(minutes=90)
