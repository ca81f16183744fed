"""Who did something: a person, the curation service itself, or the validator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from uuid import UUID

from hspm.common.auth import Principal

Kind = Literal["user", "system", "validator"]


@dataclass(frozen=True)
class Actor:
    kind: Kind
    id: UUID | None = None
    name: str | None = None

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        """The signed-in caller (a service principal counts as the system)."""
        if principal.kind == "user":
            return cls("user", principal.user_id, principal.name or None)
        return cls("system", None, principal.name or "system")

    @classmethod
    def owner(cls, owner_id: UUID) -> Actor:
        """The product's owner: the catalog submits builds on their behalf."""
        return cls("user", owner_id, None)


SYSTEM = Actor("system", None, "system")
VALIDATOR = Actor("validator", None, "validator")
