"""User-supplied regular expressions (a task environment variable's ``pattern``), in RE2.

The catalog checks patterns and defaults when a build is submitted; the Platform Agent
checks the platform's values against them before it deploys. Both use this, so a value
the catalog would accept is the value the agent accepts.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re2

# Patterns are RE2 syntax (https://github.com/google/re2/wiki/Syntax), matched in time
# linear in the value: no backreferences, no look-around, repetition counts up to 1000.
# Python's backtracking ``re`` is never used on them (one ``(a+)+$`` froze the service).
MAX_PATTERN_BYTES = 1024
# The compiled program's memory; a pattern needing more is refused like a bad one.
_RE2_MAX_MEM = 1 << 20


def _options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # a refused pattern is the client's 422, not a stderr line
    options.max_mem = _RE2_MAX_MEM
    return options


def _compiled(pattern: str) -> Any:
    """The RE2 program of ``pattern``, or the reason it has none (a ``str``)."""
    # Checked before the cache, so the cache only ever holds short patterns.
    if len(pattern.encode("utf-8")) > MAX_PATTERN_BYTES:
        return f"must be at most {MAX_PATTERN_BYTES} bytes"
    return _compile(pattern)


# Each program is at most _RE2_MAX_MEM: the cache holds at most 32 MiB of them.
@lru_cache(maxsize=32)
def _compile(pattern: str) -> Any:
    try:
        return re2.compile(pattern, _options())
    except re2.error as exc:
        raw = exc.args[0] if exc.args else ""
        reason = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
        return (
            f"is not a valid RE2 regular expression ({reason}); "
            "backreferences and look-around are not supported"
        )


def pattern_problem(pattern: str) -> str | None:
    """Why an environment value pattern is refused (too long, or not RE2 syntax), or None."""
    compiled = _compiled(pattern)
    return compiled if isinstance(compiled, str) else None


def pattern_matches(pattern: str, value: str, *, whole: bool) -> bool:
    """Does ``value`` match (``whole``: all of it; else anywhere, as JSON Schema's ``pattern``)?

    ``pattern`` must have passed ``pattern_problem``; RE2 runs in time linear in ``value``.
    """
    compiled = _compiled(pattern)
    assert not isinstance(compiled, str), compiled
    found = compiled.fullmatch(value) if whole else compiled.search(value)
    return found is not None
