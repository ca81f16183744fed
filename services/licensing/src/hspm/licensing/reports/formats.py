"""JSON or CSV: choosing from ``format`` and ``Accept``, and writing CSV safely.

CSV follows RFC 4180 (CRLF line ends, a header row, fields quoted when they hold a comma,
a quote or a line break, quotes doubled). A report carries text others typed (product
names, addresses), and a spreadsheet runs a cell that starts with ``=``, ``+``, ``-``,
``@`` (or a tab or carriage return, which some strip first) as a formula: such a cell gets
a leading ``'``, which spreadsheets show as text (the OWASP "CSV injection" advice).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from hspm.common.errors import NotAcceptable

CSV_TYPE = "text/csv"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_JSON = ("application", "json")
_CSV = ("text", "csv")


def negotiate(fmt: str | None, accept: str | None) -> str:
    """``json`` or ``csv``: ``format`` wins; else the better of the two ``Accept`` allows
    (JSON on a tie or without the header); 406 when it allows neither."""
    if fmt is not None:
        return fmt
    if not accept or not accept.strip():
        return "json"
    ranges = _ranges(accept)
    as_json, as_csv = _quality(ranges, _JSON), _quality(ranges, _CSV)
    if as_json <= 0 and as_csv <= 0:
        raise NotAcceptable("Usage reports are JSON (application/json) or CSV (text/csv).")
    return "csv" if as_csv > as_json else "json"


def _ranges(accept: str) -> list[tuple[str, str, float]]:
    """(type, subtype, q) of each media range; a malformed one is skipped, a bad q is 0."""
    found = []
    for item in accept.split(",")[:64]:
        media, *params = (part.strip() for part in item.split(";"))
        kind, _, sub = media.lower().partition("/")
        if not kind or not sub:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                q = _q(value.strip())
        found.append((kind, sub, q))
    return found


def _q(value: str) -> float:
    try:
        q = float(value)
    except ValueError:
        return 0.0
    return q if 0.0 <= q <= 1.0 else 0.0


def _quality(ranges: list[tuple[str, str, float]], media: tuple[str, str]) -> float:
    """The q of the most specific range matching ``media`` (RFC 9110 §12.5.1), else 0."""
    kind, sub = media
    for want in ((kind, sub), (kind, "*"), ("*", "*")):
        qs = [q for k, s, q in ranges if (k, s) == want]
        if qs:
            return max(qs)
    return 0.0


def csv_body(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> bytes:
    """A header row and one line per row, every cell made safe for spreadsheets."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([cell(row.get(c)) for c in columns])
    return out.getvalue().encode("utf-8")


def cell(value: Any) -> str:
    """One value as CSV text: ISO 8601 UTC instants, lists joined with ``; ``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)  # a number, even a negative one, is no formula
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, list | tuple):
        return neutralize("; ".join(_plain(v) for v in value))
    return neutralize(_plain(value))


def _plain(value: Any) -> str:
    if isinstance(value, UUID):
        return str(value)
    return "" if value is None else str(value)


def neutralize(text: str) -> str:
    """Text a spreadsheet would run as a formula, made plain text with a leading ``'``."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def filename(kind: str, start: datetime, end: datetime) -> str:
    """``usage-<group_by>-<from>-<to>.csv`` with compact UTC instants (no ``:`` in names)."""
    return f"{kind}-{_compact(start)}-{_compact(end)}.csv"


def _compact(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
