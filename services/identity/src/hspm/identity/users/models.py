"""Request bodies of users and identities."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import EmailStr, StringConstraints

from hspm.common.models import Input, Name, Short


class UserCreate(Input):
    id: UUID | None = None
    name: Name
    external_id: Short | None = None
    salutation: Short | None = None
    first_name: Short | None = None
    middle_name: Short | None = None
    last_name: Short | None = None
    email: EmailStr | None = None


class UserUpdate(Input):
    READ_ONLY = frozenset({"id"})
    name: Name | None = None
    external_id: Short | None = None
    salutation: Short | None = None
    first_name: Short | None = None
    middle_name: Short | None = None
    last_name: Short | None = None
    email: EmailStr | None = None


class IdentityCreate(Input):
    id: UUID | None = None
    identity_provider_id: UUID
    sub: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    hd: Short | None = None
    locale: Short | None = None
    email: EmailStr | None = None
    notify_via_email: bool = False
    notify_via_sms: bool = False
    user_id: UUID | None = None


class IdentityUpdate(Input):
    READ_ONLY = frozenset({"id", "identity_provider_id", "sub", "iat"})
    hd: Short | None = None
    locale: Short | None = None
    email: EmailStr | None = None
    notify_via_email: bool | None = None
    notify_via_sms: bool | None = None
    user_id: UUID | None = None
