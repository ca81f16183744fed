"""What the commands print: tables and records for people, JSON for scripts, and errors
that say what to do, with the exit code each deserves (docs/cli.md lists them).

Pure functions over data, so the wording and the codes are tested without a marketplace.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from enum import IntEnum
from typing import Any

from hspm.client.api import ApiError


class Exit(IntEnum):
    """The exit codes, the same for every command (a CI script branches on them)."""

    OK = 0
    FAILED = 1  # the marketplace said no: validation failed, not licensed, a conflict
    USAGE = 2  # the command line or its input is wrong (argparse uses 2 as well)
    AUTH = 3  # not signed in, sign-in expired, or not allowed
    NOT_FOUND = 4  # the product, build, case... does not exist (or is not yours to see)
    TIMEOUT = 5  # gave up waiting (``build submit --timeout``)
    UNAVAILABLE = 6  # the marketplace could not be reached or failed (5xx)


class CliError(Exception):
    """A failure already worded for the user, with its exit code."""

    def __init__(self, message: str, code: Exit) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


NOT_SIGNED_IN = "not signed in: run `hspm login` or set HSPM_TOKEN"
EXPIRED = "your sign-in was refused (expired or revoked): run `hspm login` again or set a valid HSPM_TOKEN"


def field_errors(errors: Mapping[str, Sequence[str]]) -> list[str]:
    """``field: message`` lines, one per message, fields in order."""
    return [f"  {name}: {message}" for name, messages in sorted(errors.items()) for message in messages]


def explain(error: ApiError, signed_in: bool) -> CliError:
    """An API refusal as a sentence that says what to do, and its exit code."""
    status = error.status
    if status == 0:
        return CliError(f"{error.detail}: check --url or HSPM_URL", Exit.UNAVAILABLE)
    if status == 401:
        return CliError(EXPIRED if signed_in else NOT_SIGNED_IN, Exit.AUTH)
    if status == 403:
        return CliError(f"not allowed: {error.detail}", Exit.AUTH)
    if status == 404:
        return CliError(f"not found: {error.detail}", Exit.NOT_FOUND)
    if status == 422 and error.errors:
        lines = ["the marketplace refused the input:", *field_errors(error.errors)]
        return CliError("\n".join(lines), Exit.USAGE)
    if status == 422:
        return CliError(f"the marketplace refused the input: {error.detail}", Exit.USAGE)
    if status >= 500 or status == 429:
        return CliError(
            f"the marketplace failed ({status}): {error.detail}; try again later", Exit.UNAVAILABLE
        )
    return CliError(f"refused ({status}): {error.detail}", Exit.FAILED)


def render_json(data: Any) -> str:
    """Stable, readable JSON: what ``--json`` prints."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"


def cell(value: Any) -> str:
    """A value as one table cell: no newlines, ``-`` for nothing."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(cell(v) for v in value) or "-"
    return " ".join(str(value).split())


def table(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], empty: str = "(none)") -> str:
    """Left-aligned columns with a header; ``empty`` when there are no rows."""
    cells = [[cell(row.get(c)) for c in columns] for row in rows]
    if not cells:
        return empty + "\n"
    header = [c.upper() for c in columns]
    widths = [max(len(r[i]) for r in [header, *cells]) for i in range(len(columns))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in [header, *cells]]
    return "\n".join(lines) + "\n"


def record(data: Mapping[str, Any], keys: Sequence[str]) -> str:
    """``key: value`` lines for the keys that the record has."""
    shown = [k for k in keys if k in data]
    width = max((len(k) for k in shown), default=0)
    return "".join(f"{(k + ':').ljust(width + 1)} {cell(data[k])}\n" for k in shown)
