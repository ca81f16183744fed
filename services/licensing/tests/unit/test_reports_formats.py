"""Choosing JSON or CSV, and writing CSV that a spreadsheet opens safely (RFC 4180)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import pytest

from hspm.common.errors import NotAcceptable
from hspm.licensing.reports.formats import cell, csv_body, filename, negotiate, neutralize


@pytest.mark.parametrize(
    ("fmt", "accept", "chosen"),
    [
        (None, None, "json"),
        (None, "", "json"),
        (None, "*/*", "json"),
        (None, "application/json", "json"),
        (None, "text/csv", "csv"),
        (None, "text/*", "csv"),
        (None, "text/csv, application/json", "json"),  # a tie: JSON
        (None, "application/json;q=0.9, text/csv", "csv"),
        (None, "text/csv;q=0.1, */*;q=0.5", "json"),
        (None, "text/csv;q=0, */*", "json"),  # the specific range's q=0 wins over */*
        (None, "TEXT/CSV", "csv"),
        (None, "garbage, text/csv", "csv"),
        ("json", "text/csv", "json"),
        ("csv", "application/json", "csv"),
    ],
)
def test_negotiation(fmt: str | None, accept: str | None, chosen: str) -> None:
    assert negotiate(fmt, accept) == chosen


@pytest.mark.parametrize("accept", ["image/png", "text/html", "text/csv;q=0, application/json;q=0", "x"])
def test_nothing_acceptable_is_406(accept: str) -> None:
    with pytest.raises(NotAcceptable):
        negotiate(None, accept)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a=1", "a=1"),
        ("", ""),
        ("'quoted", "'quoted"),
    ],
)
def test_formula_cells_are_made_text(text: str, shown: str) -> None:
    assert neutralize(text) == shown


def test_cells_render_values_plainly() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert cell(datetime(2025, 3, 1, 2, 0, tzinfo=plus_two)) == "2025-03-01T00:00:00Z"
    assert cell(UUID(int=1)) == "00000000-0000-0000-0000-000000000001"
    assert [cell(None), cell(0), cell(-3), cell(True)] == ["", "0", "-3", "true"]
    assert cell(["-a", "b"]) == "'-a; b"


def test_csv_is_rfc_4180_with_a_header_row() -> None:
    body = csv_body(("name", "n"), [{"name": 'a, "b"\nc', "n": 1}, {"name": "=x", "n": None}])
    assert body == b'name,n\r\n"a, ""b""\nc",1\r\n\'=x,\r\n'
    assert list(csv.reader(io.StringIO(body.decode(), newline=""))) == [
        ["name", "n"],
        ['a, "b"\nc', "1"],
        ["'=x", ""],
    ]


def test_the_file_name_has_no_colons() -> None:
    start, end = datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 4, 1, 12, 30, tzinfo=UTC)
    assert filename("usage-product", start, end) == "usage-product-20250301T000000Z-20250401T123000Z.csv"
