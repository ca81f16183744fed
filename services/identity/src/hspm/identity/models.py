"""Request bodies of the identity API; responses are plain dicts built in ``views``."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    EmailStr,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from hspm.common.models import Input, Name, Short, Text

ShortText = Short


MASKED_SECRET = "********"


class UserCreate(Input):
    id: UUID | None = None
    name: Name
    external_id: ShortText | None = None
    salutation: ShortText | None = None
    first_name: ShortText | None = None
    middle_name: ShortText | None = None
    last_name: ShortText | None = None
    email: EmailStr | None = None


class UserUpdate(Input):
    READ_ONLY = frozenset({"id"})
    name: Name | None = None
    external_id: ShortText | None = None
    salutation: ShortText | None = None
    first_name: ShortText | None = None
    middle_name: ShortText | None = None
    last_name: ShortText | None = None
    email: EmailStr | None = None


class IdentityCreate(Input):
    id: UUID | None = None
    identity_provider_id: UUID
    sub: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    hd: ShortText | None = None
    locale: ShortText | None = None
    email: EmailStr | None = None
    notify_via_email: bool = False
    notify_via_sms: bool = False
    user_id: UUID | None = None


class IdentityUpdate(Input):
    READ_ONLY = frozenset({"id", "identity_provider_id", "sub", "iat"})
    hd: ShortText | None = None
    locale: ShortText | None = None
    email: EmailStr | None = None
    notify_via_email: bool | None = None
    notify_via_sms: bool | None = None
    user_id: UUID | None = None


class GroupCreate(Input):
    id: UUID | None = None
    name: Name
    description: Text | None = None


class GroupUpdate(Input):
    READ_ONLY = frozenset({"id"})
    name: Name | None = None
    description: Text | None = None


class MemberCreate(Input):
    id: UUID | None = None
    user_id: UUID
    group_id: UUID | None = None


class RoleCreate(Input):
    id: UUID | None = None
    name: Name
    description: Text | None = None
    default: bool = False
    permissions: dict[str, Any] = Field(default_factory=dict)


class RoleUpdate(Input):
    READ_ONLY = frozenset({"id", "builtin"})
    name: Name | None = None
    description: Text | None = None
    default: bool | None = None
    permissions: dict[str, Any] | None = None


class AppointmentCreate(Input):
    id: UUID | None = None
    entity_id: UUID
    entity_type: Literal["User", "Group"]
    role_id: UUID | None = None


class IdentityProviderCreate(Input):
    id: UUID | None = None
    name: Name
    issuer: Annotated[str, StringConstraints(min_length=8, max_length=500, pattern=r"^https?://")]
    client_id: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    client_secret: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    alternate_client_id: ShortText | None = None
    scopes: ShortText = "openid email profile"
    enabled: bool = True

    @field_validator("scopes")
    @classmethod
    def _openid_scope(cls, value: str) -> str:
        scopes = value.replace(",", " ").split()
        if "openid" not in scopes:
            raise ValueError("must include 'openid'")
        return " ".join(scopes)


class IdentityProviderUpdate(Input):
    READ_ONLY = frozenset({"id", "enabled", "enabled_at", "redirect_url", "configuration", "public_keys"})

    @model_validator(mode="before")
    @classmethod
    def _keep_masked_secret(cls, data: Any) -> Any:
        # The rendered secret is a mask; echoing it back must not overwrite the real one.
        if isinstance(data, dict) and data.get("client_secret") == MASKED_SECRET:
            return {k: v for k, v in data.items() if k != "client_secret"}
        return data

    name: Name | None = None
    issuer: Annotated[str, StringConstraints(min_length=8, max_length=500, pattern=r"^https?://")] | None = (
        None
    )
    client_id: Annotated[str, StringConstraints(min_length=1, max_length=500)] | None = None
    client_secret: Annotated[str, StringConstraints(min_length=1, max_length=2000)] | None = None
    alternate_client_id: ShortText | None = None
    scopes: ShortText | None = None

    @field_validator("scopes")
    @classmethod
    def _openid_scope(cls, value: str | None) -> str | None:
        return None if value is None else IdentityProviderCreate._openid_scope(value)


class ApiTokenCreate(Input):
    name: Name
    scopes: list[str] = Field(default_factory=lambda: ["*"], max_length=200)
    expires_in_days: int = Field(90, ge=1)
