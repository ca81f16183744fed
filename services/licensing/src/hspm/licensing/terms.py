"""License terms as pure arithmetic: when an entitlement's validity window ends.

One definition for every area (the check, the expiry sweep, offline documents, views):
- ``indefinite``: never ends;
- ``relative_date``: ``days_valid`` days after the entitlement's ``valid_from``;
- ``absolute_date``: at the license's ``expires_at``.
A window is half-open, ``[valid_from, valid_until)``: valid at ``valid_from``, no longer
at ``valid_until``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

Expiry = Literal["indefinite", "relative_date", "absolute_date"]
EXPIRIES: tuple[Expiry, ...] = ("indefinite", "relative_date", "absolute_date")


def valid_until(
    expiry: str, valid_from: datetime, days_valid: int, expires_at: datetime | None
) -> datetime | None:
    """The first instant the entitlement is no longer valid; None for never."""
    if expiry == "indefinite":
        return None
    if expiry == "relative_date":
        return valid_from + timedelta(days=days_valid)
    if expiry == "absolute_date":
        if expires_at is None:
            raise ValueError("an absolute_date license needs expires_at")
        return expires_at
    raise ValueError(f"unknown expiry type {expiry!r}")


def is_valid(
    now: datetime, expiry: str, valid_from: datetime, days_valid: int, expires_at: datetime | None
) -> bool:
    """Inside ``[valid_from, valid_until)`` at ``now``."""
    if now < valid_from:
        return False
    end = valid_until(expiry, valid_from, days_valid, expires_at)
    return end is None or now < end
