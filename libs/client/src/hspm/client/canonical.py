"""Canonical JSON (RFC 8785, JCS): the bytes that ``marketplace.json`` signatures cover.

Keys sorted by UTF-16 code units, no whitespace, ECMAScript number formatting, UTF-8,
and only the escapes JSON requires. The same document always gives the same bytes,
whatever order or spacing its author used.
"""

from __future__ import annotations

import math
from typing import Any

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
# Integers beyond this are not exact as IEEE doubles, which is all JSON numbers are in JCS.
_EXACT = 2**53


class CanonicalError(ValueError):
    """The value has no canonical JSON form (NaN, Infinity, lone surrogates, non-JSON types)."""


def canonical(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of a parsed JSON value."""
    parts: list[str] = []
    _write(value, parts)
    try:
        return "".join(parts).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CanonicalError("strings must be valid Unicode (no lone surrogates)") from exc


def _write(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, int | float):
        out.append(number(value))
    elif isinstance(value, list | tuple):
        _array(value, out)
    elif isinstance(value, dict):
        _object(value, out)
    else:
        raise CanonicalError(f"{type(value).__name__} is not a JSON value")


def _array(values: list[Any] | tuple[Any, ...], out: list[str]) -> None:
    out.append("[")
    for i, item in enumerate(values):
        if i:
            out.append(",")
        _write(item, out)
    out.append("]")


def _object(members: dict[Any, Any], out: list[str]) -> None:
    if not all(isinstance(k, str) for k in members):
        raise CanonicalError("object keys must be strings")
    out.append("{")
    # UTF-16BE bytes compare exactly as UTF-16 code units do (surrogates sort below U+E000).
    for i, key in enumerate(sorted(members, key=lambda k: k.encode("utf-16-be", "surrogatepass"))):
        if i:
            out.append(",")
        out.append(_string(key))
        out.append(":")
        _write(members[key], out)
    out.append("}")


def _string(text: str) -> str:
    chars = []
    for ch in text:
        if ch in _ESCAPES:
            chars.append(_ESCAPES[ch])
        elif ch < " ":
            chars.append(f"\\u{ord(ch):04x}")
        else:
            chars.append(ch)
    return '"' + "".join(chars) + '"'


def number(value: int | float) -> str:
    """ECMAScript ``Number.prototype.toString`` of ``value`` as a double."""
    if isinstance(value, int) and -_EXACT <= value <= _EXACT:
        return str(value)
    x = float(value)
    if math.isnan(x) or math.isinf(x):
        raise CanonicalError("NaN and Infinity are not JSON numbers")
    if x == 0:
        return "0"  # -0 too
    sign = "-" if x < 0 else ""
    digits, exponent = _shortest(abs(x))
    return sign + _format(digits, exponent + len(digits))


def _shortest(x: float) -> tuple[str, int]:
    """Shortest round-tripping digits ``s`` and ``e`` with ``x == int(s) * 10**e``."""
    mantissa, _, exp = repr(x).partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    stripped = digits.rstrip("0")
    exponent = int(exp or 0) - len(frac) + (len(digits) - len(stripped))
    return stripped, exponent


def _format(s: str, n: int) -> str:
    """ECMA-262 Number::toString steps for digits ``s`` and decimal point position ``n``."""
    k = len(s)
    if k <= n <= 21:
        return s + "0" * (n - k)
    if 0 < n <= 21:
        return f"{s[:n]}.{s[n:]}"
    if -6 < n <= 0:
        return "0." + "0" * -n + s
    e = n - 1
    mantissa = s if k == 1 else f"{s[0]}.{s[1:]}"
    return f"{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"
