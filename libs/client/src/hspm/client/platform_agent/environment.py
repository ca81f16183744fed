"""A task's environment from the platform's values, checked as the build declares it.

Of the platform's values, only declared variables are set (a licensed product also gets
the ``HSPM_*`` claim variables, see ``licenses``). Each takes
the platform's value, else its ``default``; a ``required`` one with neither, a value its
``pattern`` does not match in full, or a key outside ``^[A-Z0-9_]+$`` (spec 8.3) is an
error, and every error is reported at once so a platform team fixes them in one pass.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from hspm.client import patterns

KEY = re.compile(r"[A-Z0-9_]+")
# Patterns come from approved builds and values from the platform team: values are
# bounded, and patterns run in RE2 (linear in the value), as the catalog runs them.
MAX_VALUE = 8192


def resolve(
    declared: Sequence[Mapping[str, Any]], values: Mapping[str, str]
) -> tuple[dict[str, str], list[str]]:
    """The variables to set and the errors that forbid running."""
    env: dict[str, str] = {}
    errors: list[str] = []
    for var in declared:
        key = str(var.get("key", ""))
        if not KEY.fullmatch(key):
            errors.append(f"variable {key!r}: names use only A-Z, 0-9 and _")
            continue
        value = values.get(key, var.get("default"))
        if value is None:
            if var.get("required"):
                errors.append(f"{key} is required and the platform gives it no value")
            continue
        problem = check(key, str(value), var.get("pattern"))
        if problem:
            errors.append(problem)
        else:
            env[key] = str(value)
    return env, errors


def check(key: str, value: str, pattern: Any) -> str | None:
    """Why ``value`` is not acceptable for ``key``, or None."""
    if len(value) > MAX_VALUE or "\0" in value:
        return f"{key}: the value is longer than {MAX_VALUE} characters or holds a NUL"
    if not pattern:
        return None
    text = str(pattern)
    if problem := patterns.pattern_problem(text):
        return f"{key}: the build's pattern {problem}"
    if not patterns.pattern_matches(text, value, whole=True):
        return f"{key}: the value does not match the pattern {text}"
    return None
