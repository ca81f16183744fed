"""Pure rules of builds and packaging: versions, image references, cron, environment."""

from __future__ import annotations

import re

import semver

# Distinct builds SHOULD NOT reuse these moving names (spec §1.2 Build).
MOVING_VERSIONS = frozenset({"latest", "nightly"})
# A draft, or a build curation sent back (rejected, changes requested, rejected
# automatically by validation): it can be edited and submitted again (ADR 12).
EDITABLE = frozenset({"draft", "rejected", "changes_requested", "auto_rejected"})
# Curation's review states that put a build on the market, and those that take it off.
PUBLISHING = frozenset({"approved", "published"})
RETIRING = frozenset({"deprecated", "withdrawn", "recalled"})
# Orders a caller may ask builds in ("version" is SemVer precedence; see store.py).
BUILD_SORTS = ("version", "created_at", "published_at")

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
REGISTRY = re.compile(rf"{_LABEL}(?:\.{_LABEL})*(?::[0-9]{{1,5}})?")
REPOSITORY = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*")
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
ENV_KEY = re.compile(r"[A-Z0-9_]+")

# Identifiers of a pre-release joined by a byte below every SemVer identifier character,
# so a plain "C"-collated comparison of the key follows SemVer precedence.
_PRE_SEPARATOR = " "


def parse_version(version: str) -> tuple[list[int], str | None] | None:
    """SemVer core and a sortable pre-release key, or None for a non-SemVer version."""
    try:
        v = semver.Version.parse(version)
    except ValueError:
        return None
    return [v.major, v.minor, v.patch], pre_release_key(v.prerelease)


def pre_release_key(prerelease: str | None) -> str | None:
    """Numeric identifiers rank below alphanumeric ones and compare as numbers."""
    if not prerelease:
        return None
    parts = []
    for ident in prerelease.split("."):
        parts.append(f"0{int(ident):020d}" if ident.isdigit() else f"1{ident}")
    return _PRE_SEPARATOR.join(parts)


def version_problem(version: str) -> str | None:
    """Why a version is refused, or None."""
    if parse_version(version) is None and version.strip().lower() in MOVING_VERSIONS:
        return "must not reuse the moving names 'latest' or 'nightly'"
    return None


_CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_MONTHS = "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC"
_DAYS = "SUN MON TUE WED THU FRI SAT"
_CRON_NAMES: tuple[dict[str, int], ...] = (
    {},
    {},
    {},
    {m: i for i, m in enumerate(_MONTHS.split(" "), 1)},
    {d: i for i, d in enumerate(_DAYS.split(" "))},
)
_CRON_ITEM = re.compile(r"(\*|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:/([0-9]+))?")


def cron_problem(expression: str) -> str | None:
    """Why a 5-field cron expression is invalid, or None."""
    fields = expression.split()
    if len(fields) != 5:
        return "must have 5 fields: minute hour day-of-month month day-of-week"
    for i, field in enumerate(fields):
        for item in field.split(","):
            if not _cron_item_ok(item, i):
                return f"field {i + 1} ({field!r}) is not valid"
    return None


def _cron_item_ok(item: str, index: int) -> bool:
    match = _CRON_ITEM.fullmatch(item)
    if match is None:
        return False
    span, step = match.groups()
    if step is not None and int(step) < 1:
        return False
    if span == "*":
        return True
    low, high = _CRON_RANGES[index]
    values = [_cron_value(v, index) for v in span.split("-")]
    if any(v is None or not low <= v <= high for v in values):
        return False
    return len(values) == 1 or values[0] <= values[1]  # type: ignore[operator]


def _cron_value(text: str, index: int) -> int | None:
    if text.isdigit():
        return int(text)
    return _CRON_NAMES[index].get(text.upper())


def pattern_problem(pattern: str) -> str | None:
    """Why an environment value pattern does not compile, or None."""
    try:
        re.compile(pattern)
    except re.error as exc:
        return f"is not a valid regular expression: {exc}"
    return None
