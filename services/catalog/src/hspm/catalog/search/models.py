"""What a product index or search asks for, and who is asking."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hspm.common.paging import PageParams

# Sort keys a caller may name, mapped to SQL in store.py (never interpolated from input).
INDEX_SORTS = ("name", "created_at", "updated_at", "published_at")
SEARCH_SORTS = ("relevance", *INDEX_SORTS)
MAX_TEXT = 200


@dataclass(frozen=True)
class Viewer:
    """Who is looking: decides which products and builds count (``service.viewer``)."""

    user_id: UUID | None = None
    sees_drafts: bool = False


@dataclass(frozen=True)
class SearchQuery:
    """Filters shared by ``GET /products`` and ``POST /products/search``."""

    page: PageParams
    text: str | None = None
    name: str | None = None
    mime_types: tuple[str, ...] = ()
    user_id: UUID | None = None
    license_id: UUID | None = None
    interface_id: UUID | None = None
    badge_id: UUID | None = None
    published: bool | None = None


class SearchBody(BaseModel):
    """The JSON body of ``POST /products/search``; every field optional."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(None, max_length=MAX_TEXT)
    name: str | None = Field(None, max_length=MAX_TEXT)
    mime_type: list[str] | None = Field(None, max_length=50)
    license_id: UUID | None = None
    interface_id: UUID | None = None
    badge_id: UUID | None = None
    user_id: UUID | None = None
    published: bool | None = None
    sort: Literal["relevance", "name", "created_at", "updated_at", "published_at"] | None = None
    order: Literal["asc", "desc", "ascending", "descending"] | None = None
    page: int | None = Field(None, ge=1)
    per_page: int | None = Field(None, ge=1)
    # True for every facet, or the names of those wanted: each is one more count over the match.
    facets: bool | list[Literal["mime_type", "interface", "badge", "license"]] = False

    @field_validator("mime_type", mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        # The reference UI sends a comma-separated string, with '+' turned into spaces.
        if isinstance(value, str):
            return [v.strip().replace(" ", "+") for v in value.split(",") if v.strip()]
        return value
