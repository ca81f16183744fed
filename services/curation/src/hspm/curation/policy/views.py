"""JSON shapes of the policy and its exceptions, with the spec's ``path`` and ``url``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg

from hspm.curation.policy import rules

POLICY_PATH = "/validation_policy"


def policy(row: Mapping[str, Any], base: str) -> dict[str, Any]:
    """The document as the service left it for the caller (staff-only fields may be gone)."""
    body = dict(row["document"])
    body |= {
        "known_rules": list(rules.KNOWN_RULES),
        "updated_by": row["updated_by"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "path": POLICY_PATH,
        "url": base + POLICY_PATH,
    }
    return body


def exception(row: asyncpg.Record, base: str) -> dict[str, Any]:
    path = f"{POLICY_PATH}/exceptions/{row['id']}"
    body = {
        k: row[k] for k in ("id", "product_id", "rule", "reason", "created_by", "created_at", "updated_at")
    }
    return body | {"path": path, "url": base + path}
