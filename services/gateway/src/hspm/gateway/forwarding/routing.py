"""Which service owns a path: the most specific matching prefix wins."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import unquote


@dataclass(frozen=True, slots=True)
class Rule:
    """A path prefix (whole segments, ``{name}`` matches any one) and its owner."""

    prefix: str
    service: str
    # The spec's JSON-only rule (406); off for pages, redirects and sockets.
    json_only: bool = True
    websocket: bool = False
    segments: tuple[str | None, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = tuple(
            None if p.startswith("{") and p.endswith("}") else p for p in self.prefix.strip("/").split("/")
        )
        if parts[0] is None:
            raise ValueError(f"{self.prefix}: the first segment must be literal")
        object.__setattr__(self, "segments", parts)

    def matches(self, segments: list[str]) -> bool:
        """True when the path starts with this rule's segments."""
        mine = self.segments
        if len(segments) < len(mine):
            return False
        # A plain loop: this runs on every request, and generators cost more here.
        for want, got in zip(mine, segments, strict=False):
            if (got != want) if want is not None else not got:
                return False
        return True


def _specificity(rule: Rule) -> tuple[int, int]:
    # Longer prefixes first; among equals, literal segments beat {params}.
    return (-len(rule.segments), sum(s is None for s in rule.segments))


class RouteTable:
    """Rules indexed by their first segment, each list most specific first."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        index: dict[str, list[Rule]] = {}
        for rule in rules:
            first = rule.segments[0]
            assert first is not None
            index.setdefault(first, []).append(rule)
        self._index = {k: sorted(v, key=_specificity) for k, v in index.items()}

    def first_segments(self) -> list[str]:
        """Every top-level path segment some service owns."""
        return sorted(self._index)

    def match(self, path: str) -> Rule | None:
        """The owning rule of a path, ``None`` when no service owns it."""
        segments = path[1:].split("/")
        candidates = self._index.get(segments[0])
        if candidates is None:
            return None
        for rule in candidates:
            # Single-segment rules match whenever their first segment did (the index).
            if len(rule.segments) == 1 or rule.matches(segments):
                return rule
        return None


def is_traversal(raw_path: str) -> bool:
    """Dot segments would let a client reach paths the table never routes."""
    # Most paths have no dot at all (an encoded one has "%2e"); skip the per-segment unquote.
    if "." not in raw_path and "%" not in raw_path:
        return False
    return any(unquote(s) in (".", "..") for s in raw_path.split("/"))
