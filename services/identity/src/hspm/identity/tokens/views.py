"""JSON shapes of API tokens."""

from __future__ import annotations

from typing import Any

import asyncpg

from hspm.common.handlers import Render
from hspm.identity.links import linked
from hspm.identity.signing import TokenIssuer

_FIELDS = ("id", "user_id", "name")


def api_token(row: asyncpg.Record, base: str) -> dict[str, Any]:
    return linked(
        row,
        _FIELDS,
        base,
        f"/users/{row['user_id']}/api_tokens/{row['id']}",
        scopes=list(row["scopes"] or []),
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
    )


def created_api_token(issuer: TokenIssuer) -> Render:
    """A new API token with the token itself: shown this once, only its record is kept."""

    def render(row: asyncpg.Record, base: str) -> dict[str, Any]:
        token = issuer.issue(row["user_id"], row["id"], "api", row["expires_at"])
        return api_token(row, base) | {"token": token}

    return render
