"""Voucher codes and who sees them, as pure rules."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any
from uuid import uuid4

import pytest

from hspm.common.auth import Principal
from hspm.licensing.vouchers import codes
from hspm.licensing.vouchers.service import reveals_code


def test_a_code_carries_at_least_80_bits_without_look_alikes() -> None:
    assert len(set(codes.ALPHABET)) == len(codes.ALPHABET) == 31
    assert not set("0O1IL") & set(codes.ALPHABET)
    assert codes.LENGTH * math.log2(len(codes.ALPHABET)) >= 80


def test_generated_codes_use_the_whole_alphabet_and_differ() -> None:
    drawn = [codes.generate() for _ in range(2000)]
    assert len(set(drawn)) == len(drawn)
    assert all(len(c) == codes.LENGTH and set(c) <= set(codes.ALPHABET) for c in drawn)
    seen = Counter("".join(drawn))
    assert set(seen) == set(codes.ALPHABET)


def test_a_code_is_shown_in_groups_and_read_back_however_typed() -> None:
    code = codes.generate()
    shown = codes.display(code)
    assert shown.count("-") == 2 and shown.replace("-", "") == code
    for typed in (shown, shown.lower(), code, f"  {shown.replace('-', ' ')} ", shown.replace("-", "\u2013")):
        assert codes.normalize(typed) == code, typed


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "-" * 64,
        "A" * 65,
        "A" * 17,
        "A" * 19,
        "ABCDEF-GHJKMN-PQRST0",  # 0 is never drawn
        "ABCDEF-GHJKMN-PQRSTI",
        "ABCDEF-GHJKMN-PQRST%",
        "ABCDEF GHJKMN PQRST\u00e9",
    ],
)
def test_what_cannot_be_a_code_is_refused_before_any_lookup(typed: str) -> None:
    assert codes.normalize(typed) is None


def test_the_length_bound_comes_before_the_work() -> None:
    # Separators would shrink this to a valid code; its length alone refuses it.
    code = codes.generate()
    assert codes.normalize(code + " " * (codes.MAX_TYPED - codes.LENGTH)) == code
    assert codes.normalize(code + " " * (codes.MAX_TYPED - codes.LENGTH + 1)) is None


def _who(*keys: str, scopes: frozenset[str] | None = None) -> Principal:
    return Principal(kind="user", user_id=uuid4(), permissions=frozenset(keys), scopes=scopes)


def _voucher(owner: Principal, redeemed: bool = False) -> dict[str, Any]:
    return {"owner_id": owner.user_id, "redeemed_at": "2030-01-01" if redeemed else None}


def test_an_unredeemed_code_is_for_staff_and_the_products_isv() -> None:
    isv = _who()
    row = _voucher(isv)
    assert reveals_code(isv, row)
    assert reveals_code(_who("vouchers.create"), row)
    assert reveals_code(_who("everything.manage"), row)
    assert not reveals_code(_who("vouchers.read"), row)  # an auditor
    assert not reveals_code(_who(), row)
    assert not reveals_code(Principal(kind="user", user_id=isv.user_id, scopes=frozenset()), row)


def test_a_redeemed_code_is_spent_and_shown() -> None:
    assert reveals_code(_who(), _voucher(_who(), redeemed=True))
