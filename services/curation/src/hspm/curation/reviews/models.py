"""Request bodies of the reviews area."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import Field, StringConstraints, ValidationInfo, field_validator

from hspm.common.models import Input
from hspm.curation.machine import REASON_REQUIRED, Decision

Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=10_000)]


class DecisionCreate(Input):
    """An operator's decision; some need a reason, only approval awards badges."""

    decision: Decision
    # validate_default: an absent reason or badge list is checked against the decision too.
    reason: Reason | None = Field(None, validate_default=True)
    badge_ids: list[UUID] = Field([], max_length=50, validate_default=True)

    @field_validator("reason")
    @classmethod
    def _reason_when_required(cls, value: str | None, info: ValidationInfo) -> str | None:
        value = value or None
        if value is None and info.data.get("decision") in REASON_REQUIRED:
            raise ValueError(f"can't be blank when the decision is {info.data['decision']}")
        return value

    @field_validator("badge_ids")
    @classmethod
    def _badges_only_on_approval(cls, value: list[UUID], info: ValidationInfo) -> list[UUID]:
        decision = info.data.get("decision")
        if value and decision is not None and decision != "approve":
            raise ValueError("may only be given with approve")
        return list(dict.fromkeys(value))
