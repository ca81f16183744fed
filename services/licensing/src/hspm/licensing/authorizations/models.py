"""What a runtime check and an attempts query carry: pydantic bodies, plain filters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

Outcome = Literal["granted", "not_found", "no_entitlement"]
OUTCOMES: tuple[Outcome, ...] = ("granted", "not_found", "no_entitlement")
CLAIMANT_TYPES = ("User", "Group")
# An address as the gateway forwards it is at most an IPv6 literal with a zone; anything
# longer is not an address, and the column is not a place to store what a client sends.
MAX_ADDRESS = 64


class AuthorizationRequest(BaseModel):
    """The optional body of a check: the platform asking, for account-sharing reports."""

    model_config = ConfigDict(extra="forbid")

    platform_id: UUID | None = None


@dataclass(frozen=True)
class Asker:
    """Where a check came from: recorded on its attempt."""

    address: str | None = None
    platform_id: UUID | None = None


@dataclass(frozen=True)
class AttemptFilter:
    """``GET /attempts`` filters; None is "any"."""

    product_id: UUID | None = None
    claimant_id: UUID | None = None
    claimant_type: str | None = None
    granted: bool | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None
