"""Size and nesting bounds, and strict JSON parsing: all before any cryptography is done.

A verifier runs on whatever file it is handed, so nothing here recurses on, or allocates
in proportion to, more than ``MAX_DOCUMENT_BYTES`` of input.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from hspm.client.canonical import CanonicalError, canonical
from hspm.client.offline.errors import Malformed, TooLarge

MAX_DOCUMENT_BYTES = 64 * 1024
# The format needs 3 (document > payload > licensee); the rest is room, not a promise.
MAX_DEPTH = 8
# A dict handed in directly is walked, not measured: refuse it before it gets expensive.
MAX_NODES = 4096

# A JSON string literal (unrolled, so long strings match in linear time) or a bracket.
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


def parse(raw: bytes | str) -> Any:
    """The JSON value of ``raw``: bounded, strict UTF-8, no duplicate keys, no NaN."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else bytes(raw)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise TooLarge(f"a license document is at most {MAX_DOCUMENT_BYTES} bytes")
    _check_depth(data)
    try:
        return json.loads(data.decode("utf-8"), object_pairs_hook=_object, parse_constant=_constant)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError, huge ints
        raise Malformed(f"not a JSON document: {exc}") from exc


def check_value(value: Mapping[str, Any]) -> None:
    """The same bounds for a document handed in already parsed."""
    _walk(value)
    try:
        size = len(canonical(value))
    except CanonicalError as exc:
        raise Malformed(f"not a JSON document: {exc}") from exc
    if size > MAX_DOCUMENT_BYTES:
        raise TooLarge(f"a license document is at most {MAX_DOCUMENT_BYTES} bytes")


def _check_depth(data: bytes) -> None:
    depth = 0
    for match in _TOKENS.finditer(data):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > MAX_DEPTH:
                raise TooLarge(f"a license document nests at most {MAX_DEPTH} levels")
        elif token in (b"]", b"}"):
            depth -= 1


def _walk(value: Any) -> None:
    """Depth and node count of a parsed value, iteratively (no recursion to exhaust)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    nodes = 1
    while stack:
        item, depth = stack.pop()
        if not isinstance(item, Mapping | list | tuple):
            continue
        if depth > MAX_DEPTH:
            raise TooLarge(f"a license document nests at most {MAX_DEPTH} levels")
        # Counted before anything is pushed, so a huge list is refused without copying it.
        nodes += len(item)
        if nodes > MAX_NODES:
            raise TooLarge(f"a license document has at most {MAX_NODES} values")
        stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, Mapping) else item))


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Two parsers could keep different duplicates: refuse the ambiguity outright.
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise Malformed("an object names the same member twice")
    return obj


def _constant(name: str) -> Any:
    raise Malformed(f"{name} is not a JSON number")
