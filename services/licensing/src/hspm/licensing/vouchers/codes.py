"""Voucher codes: what people read off a card and type back, as pure functions.

An alphabet of 31 symbols without the look-alikes 0/O and 1/I/L, 18 of them drawn with
``secrets``: log2(31**18) = 89.2 bits, so guessing is hopeless at any rate the gateway
lets through (see the area's service). Stored normalized (``ABCDEF...``); shown in groups
of six (``ABCDEF-GHJKMN-PQRSTU``); typed any way (lowercase, spaces, dashes).
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 18
GROUP = 6
# Longer than any code typed with generous separators: refused before any other work.
MAX_TYPED = 64
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212]+")
_SYMBOLS = frozenset(ALPHABET)


def generate() -> str:
    """A fresh code, normalized."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def display(code: str) -> str:
    """The stored code in groups, as printed on a card."""
    return "-".join(code[i : i + GROUP] for i in range(0, len(code), GROUP))


def normalize(typed: str) -> str | None:
    """The code as stored, or None when ``typed`` cannot be any code (so nothing is looked up)."""
    if len(typed) > MAX_TYPED:
        return None
    code = _SEPARATORS.sub("", typed).upper()
    if len(code) != LENGTH or not _SYMBOLS.issuperset(code):
        return None
    return code
