"""Request body of an API token."""

from __future__ import annotations

from pydantic import Field

from hspm.common.models import Input, Name


class ApiTokenCreate(Input):
    name: Name
    scopes: list[str] = Field(default_factory=lambda: ["*"], max_length=200)
    expires_in_days: int = Field(90, ge=1)
