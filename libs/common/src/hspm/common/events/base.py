"""The event envelope every service publishes and consumes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


def _now() -> datetime:
    return datetime.now(UTC)


class Event(BaseModel):
    """A fact that happened, named in the past tense; ids and facts, not whole rows.

    ``extra="ignore"`` lets an older consumer read a newer producer's message; fields
    are only ever added, optional, within one ``TYPE``.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    TYPE: ClassVar[str]

    event_id: UUID = Field(default_factory=uuid4)
    occurred_at: AwareDatetime = Field(default_factory=_now)
    producer: str = ""
    correlation_id: str | None = None
