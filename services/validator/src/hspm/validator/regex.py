"""Regular expressions in linear time: every pattern the validator runs is compiled by RE2.

Python's ``re`` backtracks, so a pattern like ``(a+)+$`` (a user's) or a detector with two
overlapping runs (ours) takes exponential or quadratic time on a hostile string. RE2
(``google-re2``) matches in time linear in the text and refuses what it cannot do that way
(backreferences, lookaround). The accepted syntax is RE2's
(https://github.com/google/re2/wiki/Syntax); ``\\d``, ``\\w``, ``\\s`` and ``\\b`` are ASCII.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import re2

# A user's pattern longer than this is refused before RE2 sees it; RE2 bounds its own
# memory per pattern too (``max_mem``), so a compiled pattern stays small.
MAX_PATTERN = 4096
ENGINE = "re2"


class PatternError(ValueError):
    """The pattern is not RE2 syntax (or is too long); the message says why."""


def _options(case_insensitive: bool) -> Any:
    options = re2.Options()
    options.log_errors = False  # the error is raised to the caller; no stderr noise
    options.case_sensitive = not case_insensitive
    return options


class Pattern:
    """A compiled RE2 pattern with the few ``re`` methods the validator uses, typed."""

    engine = ENGINE

    def __init__(self, pattern: str, *, ignore_case: bool = False) -> None:
        if len(pattern) > MAX_PATTERN:
            raise PatternError(f"the pattern is longer than {MAX_PATTERN} characters")
        try:
            self._compiled: Any = re2.compile(pattern, _options(ignore_case))
        except re2.error as exc:
            detail = exc.args[0] if exc.args else exc
            text = detail.decode(errors="replace") if isinstance(detail, bytes) else str(detail)
            raise PatternError(f"not RE2 syntax: {text}") from None
        self.pattern = pattern

    def search(self, text: str) -> bool:
        return self._compiled.search(text) is not None

    def fullmatch(self, text: str) -> bool:
        return self._compiled.fullmatch(text) is not None

    def groups(self, text: str) -> Iterator[tuple[str | None, ...]]:
        """The groups of every non-overlapping match, left to right."""
        for match in self._compiled.finditer(text):
            yield tuple(match.groups())

    def sub(self, replacement: str, text: str) -> str:
        return str(self._compiled.sub(replacement, text))


def compile(pattern: str, *, ignore_case: bool = False) -> Pattern:  # noqa: A001 (as re.compile)
    """``pattern`` compiled by RE2, or :class:`PatternError`."""
    return Pattern(pattern, ignore_case=ignore_case)
