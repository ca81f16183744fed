"""SemVer ranges: ``>=1.0.0 <1.2.3``, ``1.4.2``, ``<2.0.0 || >=3.0.0-rc.1``.

Comparators separated by spaces must all hold; ``||`` separates alternatives. A bare
version (or ``=``/``==``) is an exact match. Ordering is plain SemVer precedence (via
the ``semver`` package): ``1.2.3-rc.1`` is below ``1.2.3``, build metadata is ignored.
Unlike npm, pre-releases are not excluded from a range. A version that is not SemVer
matches no range (recall such builds by id).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

import semver

_OPS: dict[str, Callable[[int, int], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
    "=": operator.eq,
    "!=": operator.ne,
    "": operator.eq,
}
_GLUE = re.compile(r"(>=|<=|==|!=|>|<|=)\s+")
_COMPARATOR = re.compile(r"(>=|<=|==|!=|>|<|=)?(.+)")
MAX_LENGTH = 500


class RangeError(ValueError):
    """A range that does not parse; the message says which part."""


@dataclass(frozen=True)
class Comparator:
    op: str
    version: semver.Version

    def holds(self, version: semver.Version) -> bool:
        return _OPS[self.op](version.compare(self.version), 0)


@dataclass(frozen=True)
class Range:
    alternatives: tuple[tuple[Comparator, ...], ...]

    def matches(self, version: str) -> bool:
        parsed = parse_version(version)
        if parsed is None:
            return False
        return any(all(c.holds(parsed) for c in alt) for alt in self.alternatives)


def parse_version(version: str) -> semver.Version | None:
    try:
        return semver.Version.parse(version)
    except ValueError:
        return None


def parse_range(text: str) -> Range:
    """Parse ``text``; ``RangeError`` names the first part that is not a comparator."""
    if not text.strip() or len(text) > MAX_LENGTH:
        raise RangeError(f"must be a SemVer range of 1 to {MAX_LENGTH} characters")
    return Range(tuple(_alternative(alt) for alt in text.split("||")))


def _alternative(text: str) -> tuple[Comparator, ...]:
    tokens = _GLUE.sub(r"\1", text).split()
    if not tokens:
        raise RangeError("has an empty alternative around '||'")
    return tuple(_comparator(token) for token in tokens)


def _comparator(token: str) -> Comparator:
    match = _COMPARATOR.fullmatch(token)
    version = parse_version(match.group(2)) if match else None
    if match is None or version is None:
        raise RangeError(f"'{token}' is not a comparator such as >=1.0.0 or a SemVer version")
    return Comparator(match.group(1) or "", version)
