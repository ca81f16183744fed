"""JSON shapes of identity resources, with the spec's ``path`` and ``url``."""

from __future__ import annotations

from typing import Any

import asyncpg

from hspm.common import permissions
from hspm.identity.models import MASKED_SECRET


def _link(body: dict[str, Any], base: str, path: str) -> dict[str, Any]:
    body["path"] = path
    body["url"] = base + path
    return body


def user(row: asyncpg.Record, base: str) -> dict[str, Any]:
    body = {
        k: row[k]
        for k in (
            "id",
            "name",
            "external_id",
            "salutation",
            "first_name",
            "middle_name",
            "last_name",
            "email",
            "created_at",
            "updated_at",
        )
    }
    return _link(body, base, f"/users/{row['id']}")


def identity(row: asyncpg.Record, base: str) -> dict[str, Any]:
    body = {
        k: row[k]
        for k in (
            "id",
            "user_id",
            "identity_provider_id",
            "sub",
            "iat",
            "hd",
            "locale",
            "email",
            "notify_via_email",
            "notify_via_sms",
            "created_at",
            "updated_at",
        )
    }
    return _link(body, base, f"/users/{row['user_id']}/identities/{row['id']}")


def identity_provider(row: asyncpg.Record, base: str, full: bool) -> dict[str, Any]:
    """Anonymous callers see what login needs; administrators also see the configuration."""
    body: dict[str, Any] = {
        "id": row["id"],
        "name": row["name"],
        "issuer": row["issuer"],
        "enabled": row["enabled_at"] is not None,
        "redirect_url": f"{base}/identity_providers/{row['id']}/redirect",
    }
    if full:
        body.update(
            {
                k: row[k]
                for k in (
                    "client_id",
                    "alternate_client_id",
                    "scopes",
                    "enabled_at",
                    "configuration",
                    "public_keys",
                    "created_at",
                    "updated_at",
                )
            }
        )
        # The secret is write-only: shown to nobody, not even administrators.
        body["client_secret"] = MASKED_SECRET
    return _link(body, base, f"/identity_providers/{row['id']}")


def group(row: asyncpg.Record, base: str) -> dict[str, Any]:
    body = {k: row[k] for k in ("id", "name", "description", "created_at", "updated_at")}
    return _link(body, base, f"/groups/{row['id']}")


def member(row: asyncpg.Record, base: str) -> dict[str, Any]:
    body = {k: row[k] for k in ("id", "group_id", "user_id", "created_at", "updated_at")}
    return _link(body, base, f"/groups/{row['group_id']}/members/{row['id']}")


def role(row: asyncpg.Record, base: str) -> dict[str, Any]:
    body = {
        k: row[k] for k in ("id", "name", "description", "default", "builtin", "created_at", "updated_at")
    }
    body["permissions"] = permissions.as_document(permissions.granted(row["permissions"]))
    return _link(body, base, f"/roles/{row['id']}")


def appointment(row: asyncpg.Record, base: str) -> dict[str, Any]:
    is_user = row["user_id"] is not None
    body = {
        "id": row["id"],
        "role_id": row["role_id"],
        "entity_id": row["user_id"] if is_user else row["group_id"],
        "entity_type": "User" if is_user else "Group",
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }
    return _link(body, base, f"/roles/{row['role_id']}/appointments/{row['id']}")


def api_token(row: asyncpg.Record, base: str) -> dict[str, Any]:
    body = {
        "id": row["id"],
        "user_id": row["user_id"],
        "name": row["name"],
        "scopes": list(row["scopes"] or []),
        "created_at": row["created_at"],
        "expires_at": row["expires_at"],
        "revoked_at": row["revoked_at"],
    }
    return _link(body, base, f"/users/{row['user_id']}/api_tokens/{row['id']}")
