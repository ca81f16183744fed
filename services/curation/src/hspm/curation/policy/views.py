"""JSON shapes of the policy and its exceptions, with the spec's ``path`` and ``url``."""

from __future__ import annotations

from typing import Any

import asyncpg

from hspm.curation.policy import rules

POLICY_PATH = "/validation_policy"


def policy(row: asyncpg.Record, base: str) -> dict[str, Any]:
    body = rules.document(rules.load(row["document"]))
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
