"""Request bodies of the policy area."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import ConfigDict, StringConstraints, field_validator

from hspm.common.events.curation import PolicyLimits
from hspm.common.events.validator import RULE_IDS
from hspm.common.models import Input

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class PolicyUpdate(PolicyLimits):
    """The operator's whole policy document (PUT replaces it): the contract's settings,
    limits and defaults, less ``exceptions`` (they are kept per product, under
    /validation_policy/exceptions), and no unknown fields. The service turns it into the
    contract. Strings are taken as sent, as the contract takes them.
    """

    model_config = ConfigDict(frozen=False, extra="forbid")


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
