"""Request bodies of recalls."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field, StringConstraints, field_validator

from hspm.common.models import Input, UtcDatetime
from hspm.curation.recalls import versions as semver_range

Severity = Literal["low", "moderate", "high", "critical"]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)]


class RecallCreate(Input):
    """Builds by SemVer range (``versions``) or by id (``build_ids``), exactly one of them."""

    product_id: UUID
    versions: str | None = None
    build_ids: Annotated[list[UUID], Field(min_length=1, max_length=500)] | None = None
    severity: Severity
    reason: Reason
    fixed_build_id: UUID | None = None
    deadline: UtcDatetime | None = None

    @field_validator("versions")
    @classmethod
    def _a_range(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                semver_range.parse_range(value)
            except semver_range.RangeError as exc:
                raise ValueError(str(exc)) from exc
        return value
