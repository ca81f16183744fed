"""Request bodies of identity providers."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from pydantic import StringConstraints, field_validator, model_validator

from hspm.common.models import Input, Name, Short

# What every rendering of the client secret shows: the secret itself is write-only.
MASKED_SECRET = "********"

Issuer = Annotated[str, StringConstraints(min_length=8, max_length=500, pattern=r"^https?://")]
ClientId = Annotated[str, StringConstraints(min_length=1, max_length=500)]
ClientSecret = Annotated[str, StringConstraints(min_length=1, max_length=2000)]


def _openid_scope(value: str) -> str:
    scopes = value.replace(",", " ").split()
    if "openid" not in scopes:
        raise ValueError("must include 'openid'")
    return " ".join(scopes)


class IdentityProviderCreate(Input):
    id: UUID | None = None
    name: Name
    issuer: Issuer
    client_id: ClientId
    client_secret: ClientSecret
    alternate_client_id: Short | None = None
    scopes: Short = "openid email profile"
    enabled: bool = True

    @field_validator("scopes")
    @classmethod
    def _openid_scope(cls, value: str) -> str:
        return _openid_scope(value)


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
    issuer: Issuer | None = None
    client_id: ClientId | None = None
    client_secret: ClientSecret | None = None
    alternate_client_id: Short | None = None
    scopes: Short | None = None

    @field_validator("scopes")
    @classmethod
    def _openid_scope(cls, value: str | None) -> str | None:
        return None if value is None else _openid_scope(value)
