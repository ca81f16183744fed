"""Request bodies of the policy area (the policy itself is the contract's ValidationPolicy)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import StringConstraints, field_validator

from hspm.common.events.validator import RULE_IDS
from hspm.common.models import Input

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class ExceptionCreate(Input):
    """Waive one rule for one product, with the reason on record."""

    product_id: UUID
    rule: str
    reason: Reason

    @field_validator("rule")
    @classmethod
    def _known_rule(cls, value: str) -> str:
        if value not in RULE_IDS:
            raise ValueError("is not a rule id the validator knows")
        return value
