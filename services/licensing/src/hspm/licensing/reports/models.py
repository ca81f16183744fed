"""What a usage report asks for, read from the query string (the reports have no bodies).

Pure: no I/O, so the rules (defaults, bounds, the 422s) are unit-tested without a server.
Every problem is collected and answered at once as one 422 with per-field errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from hspm.common.errors import ValidationFailed
from hspm.common.paging import PageParams

GROUP_BYS = ("product", "vendor", "claimant", "period")
PERIODS = ("day", "week", "month")
CLAIMANT_TYPES = ("User", "Group")
FORMATS = ("json", "csv")

DEFAULT_SPAN = timedelta(days=30)
# A year and a leap day: a calendar year always fits, and no report scans more than that.
MAX_SPAN = timedelta(days=366)
# Outside these the arithmetic (a month after the last bucket, the default 30 days
# before ``to``) would leave what Python and asyncpg can represent: a 422, never a 500.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
_MAX_DATE_CHARS = 64

# The most rows one CSV download holds; past it the reply says it was cut (headers).
CSV_LIMIT = 10_000

Errors = dict[str, list[str]]


@dataclass(frozen=True)
class Filters:
    """Which attempts a report covers: the half-open window [start, end) and the filters."""

    start: datetime
    end: datetime
    product_id: UUID | None = None
    vendor_id: UUID | None = None
    claimant_type: str | None = None


@dataclass(frozen=True)
class UsageQuery:
    group_by: str
    period: str
    filters: Filters


@dataclass(frozen=True)
class SharingRule:
    """One claim used by one user from more than ``max_sources`` distinct sources (platform
    id, else address) within one fixed window of ``window_minutes`` is suspected sharing."""

    window_minutes: int
    max_sources: int

    @property
    def window(self) -> timedelta:
        return timedelta(minutes=self.window_minutes)


@dataclass(frozen=True)
class Rows:
    """Which rows of a report to return, in what order: a page for JSON, the first
    ``CSV_LIMIT`` for CSV. ``sort`` is whitelisted and ``order`` ASC or DESC (``PageParams``)."""

    sort: str
    order: str
    limit: int
    offset: int

    @classmethod
    def page(cls, page: PageParams) -> Rows:
        return cls(page.sort, page.order, page.per_page, page.offset)

    @classmethod
    def download(cls, page: PageParams) -> Rows:
        return cls(page.sort, page.order, CSV_LIMIT, 0)


def parse_usage(query: Mapping[str, str], now: datetime) -> UsageQuery:
    """``group_by`` (default product), ``period`` (default day) and the filters."""
    errors: Errors = {}
    group_by = _choice(query, "group_by", GROUP_BYS, errors) or "product"
    # Validated whatever the grouping, so a typo is never silently ignored; only
    # group_by=period uses it.
    period = _choice(query, "period", PERIODS, errors) or "day"
    filters = _filters(query, now, errors)
    if errors:
        raise ValidationFailed(errors)
    assert filters is not None
    return UsageQuery(group_by, period, filters)


def parse_filters(query: Mapping[str, str], now: datetime) -> Filters:
    """``from``/``to``, ``product_id``, ``vendor_id`` and ``claimant_type``."""
    errors: Errors = {}
    filters = _filters(query, now, errors)
    if errors:
        raise ValidationFailed(errors)
    assert filters is not None
    return filters


def parse_format(query: Mapping[str, str]) -> str | None:
    """``format=json|csv`` when given (it wins over ``Accept``), else None."""
    errors: Errors = {}
    fmt = _choice(query, "format", FORMATS, errors)
    if errors:
        raise ValidationFailed(errors)
    return fmt


def _filters(query: Mapping[str, str], now: datetime, errors: Errors) -> Filters | None:
    start, end = _window(query, now, errors)
    product_id = _uuid(query, "product_id", errors)
    vendor_id = _uuid(query, "vendor_id", errors)
    claimant_type = _choice(query, "claimant_type", CLAIMANT_TYPES, errors)
    if start is None or end is None:
        return None
    return Filters(start, end, product_id, vendor_id, claimant_type)


def _window(query: Mapping[str, str], now: datetime, errors: Errors) -> tuple[datetime | None, ...]:
    """[from, to): ``to`` defaults to now, ``from`` to 30 days before ``to``."""
    start = _instant(query, "from", errors)
    end = _instant(query, "to", errors)
    if "from" in errors or "to" in errors:
        return None, None
    end = end or now
    start = start or end - DEFAULT_SPAN
    if start >= end:
        errors.setdefault("to", []).append("must be later than from")
    elif end - start > MAX_SPAN:
        errors.setdefault("to", []).append(f"must be at most {MAX_SPAN.days} days after from")
    return start, end


def _instant(query: Mapping[str, str], name: str, errors: Errors) -> datetime | None:
    """ISO 8601 (a date is its midnight); without an offset it is UTC."""
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        if len(raw) > _MAX_DATE_CHARS:
            raise ValueError(raw)
        value = datetime.fromisoformat(raw)
    except ValueError:
        errors.setdefault(name, []).append("must be an ISO 8601 date or date-time")
        return None
    value = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if not EARLIEST <= value < LATEST:
        errors.setdefault(name, []).append(f"must be between {EARLIEST.year} and {LATEST.year}")
        return None
    return value.astimezone(UTC)


def _uuid(query: Mapping[str, str], name: str, errors: Errors) -> UUID | None:
    raw = query.get(name)
    if not raw:
        return None
    try:
        if len(raw) > 64:
            raise ValueError(raw)
        return UUID(raw)
    except ValueError:
        errors.setdefault(name, []).append("must be a UUID")
        return None


def _choice(query: Mapping[str, str], name: str, allowed: tuple[str, ...], errors: Errors) -> str | None:
    """One of ``allowed`` (matched exactly), or None when absent or wrong (noted in ``errors``)."""
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    if raw not in allowed:
        errors.setdefault(name, []).append(f"must be one of: {', '.join(allowed)}")
        return None
    return raw
