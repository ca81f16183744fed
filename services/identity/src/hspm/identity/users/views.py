"""JSON shapes of users and identities."""

from __future__ import annotations

from typing import Any

import asyncpg

from hspm.identity.links import linked

_STAMPS = ("created_at", "updated_at")
_USER = ("id", "name", "external_id", "salutation", "first_name", "middle_name", "last_name", "email")
_IDENTITY = ("id", "user_id", "identity_provider_id", "sub", "iat", "hd", "locale", "email")
_NOTIFY = ("notify_via_email", "notify_via_sms")


def user(row: asyncpg.Record, base: str) -> dict[str, Any]:
    return linked(row, (*_USER, *_STAMPS), base, f"/users/{row['id']}")


def identity(row: asyncpg.Record, base: str) -> dict[str, Any]:
    path = f"/users/{row['user_id']}/identities/{row['id']}"
    return linked(row, (*_IDENTITY, *_NOTIFY, *_STAMPS), base, path)
