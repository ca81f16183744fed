"""Expiry arithmetic at every boundary: just before, at and just after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hspm.licensing.terms import is_valid, valid_until

T0 = datetime(2026, 1, 1, tzinfo=UTC)
TICK = timedelta(microseconds=1)


def test_indefinite_never_ends_but_starts_at_valid_from() -> None:
    assert valid_until("indefinite", T0, 0, None) is None
    assert not is_valid(T0 - TICK, "indefinite", T0, 0, None)
    assert is_valid(T0, "indefinite", T0, 0, None)
    assert is_valid(T0 + timedelta(days=10_000), "indefinite", T0, 0, None)


@pytest.mark.parametrize(("offset", "valid"), [(-TICK, True), (timedelta(0), False), (TICK, False)])
def test_relative_ends_days_valid_after_valid_from(offset: timedelta, valid: bool) -> None:
    end = T0 + timedelta(days=30)
    assert valid_until("relative_date", T0, 30, None) == end
    assert is_valid(end + offset, "relative_date", T0, 30, None) is valid


@pytest.mark.parametrize(("offset", "valid"), [(-TICK, True), (timedelta(0), False), (TICK, False)])
def test_absolute_ends_at_expires_at(offset: timedelta, valid: bool) -> None:
    end = datetime(2026, 12, 31, tzinfo=UTC)
    assert is_valid(end + offset, "absolute_date", T0, 0, end) is valid


def test_zero_days_is_never_valid_and_unknown_types_are_refused() -> None:
    assert not is_valid(T0, "relative_date", T0, 0, None)
    with pytest.raises(ValueError, match="expires_at"):
        valid_until("absolute_date", T0, 0, None)
    with pytest.raises(ValueError, match="unknown"):
        valid_until("forever", T0, 0, None)
