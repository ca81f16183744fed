"""Request bodies of products, publication, sub-products, badges and awards."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import StringConstraints

from hspm.common.models import HttpUrl, Input, Name, Short, Text, UtcDatetime

# Rendered fields a client may echo back; the server owns them.
_PRODUCT_RENDERED = frozenset({"published_at", "listed", "badges", "logo", "product_licenses"})


class ProductCreate(Input):
    READ_ONLY = _PRODUCT_RENDERED
    id: UUID | None = None
    name: Name
    description: Text | None = None
    uri: Short | None = None
    support_url: HttpUrl | None = None
    mime_type: Short | None = None
    locale: Short | None = None
    external_id: Short | None = None
    visible_at: UtcDatetime | None = None
    user_id: UUID | None = None


class ProductUpdate(Input):
    READ_ONLY = _PRODUCT_RENDERED | {"id"}
    name: Name | None = None
    description: Text | None = None
    uri: Short | None = None
    support_url: HttpUrl | None = None
    mime_type: Short | None = None
    locale: Short | None = None
    external_id: Short | None = None
    visible_at: UtcDatetime | None = None
    user_id: UUID | None = None


class Publication(Input):
    """``visible_at`` given (even null) replaces the embargo; absent keeps it or means now."""

    visible_at: UtcDatetime | None = None


class SubProductCreate(Input):
    id: UUID | None = None
    parent_id: UUID
    child_id: UUID


class SubProductUpdate(Input):
    READ_ONLY = frozenset({"id"})
    parent_id: UUID | None = None
    child_id: UUID | None = None


class BadgeCreate(Input):
    id: UUID | None = None
    name: Name
    description: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)]


class BadgeUpdate(Input):
    READ_ONLY = frozenset({"id"})
    name: Name | None = None
    description: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)] | None
    ) = None


class BadgeAward(Input):
    READ_ONLY = frozenset({"id", "product_id", "name", "description", "awarded_by"})
    badge_id: UUID
    reason: Text | None = None
