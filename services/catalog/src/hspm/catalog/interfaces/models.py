"""Request bodies of interfaces and surrogates."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import Field, StringConstraints

from hspm.common.models import Input

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Uri = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Version = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Ordinal = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]
_RENDERED = frozenset({"created_at", "updated_at", "path", "url"})


class InterfaceCreate(Input):
    id: UUID | None = None
    name: Name
    uri: Uri
    version: Version
    ordinal: Ordinal | None = None


class InterfaceUpdate(Input):
    READ_ONLY = _RENDERED | {"id"}
    name: Name | None = None
    uri: Uri | None = None
    version: Version | None = None
    ordinal: Ordinal | None = None


class SurrogateCreate(Input):
    READ_ONLY = frozenset({"interface_id"})
    id: UUID | None = None
    substitute_id: UUID


class SurrogateUpdate(Input):
    READ_ONLY = _RENDERED | {"id", "interface_id"}
    substitute_id: UUID
