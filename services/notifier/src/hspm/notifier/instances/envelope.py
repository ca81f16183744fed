"""An instance as agents see it, in the stream's envelope and in the full state.

JSON-ready (ids as text, times in ISO 8601) because it is stored as the event's model
and compared by checksum; pure, so the checksum's definition is tested on its own.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

# An asyncpg record or a plain mapping: read by key only.
Row = Any

MESSAGES = {
    "created": "A build instance has been added to the platform.",
    "updated": "A build instance on the platform has changed.",
    "destroyed": "A build instance has been removed from the platform.",
}


def _time(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def instance_model(row: Row, build: Row | None, user_id: object) -> dict[str, Any]:
    """The spec's ``model.instance`` (build with its product, platform with its user), extended."""
    return {
        "instance": {
            "id": str(row["id"]),
            "build": {
                "id": str(row["build_id"]),
                "version": build["version"] if build else None,
                "image": row["image"],
                "container_repository": build["repository"] if build else None,
                "container_tag": build["tag"] if build else None,
                "product": {"id": str(row["product_id"])},
            },
            "platform": {"id": str(row["platform_id"]), "user": {"id": str(user_id)}},
            "desired_state": row["desired_state"],
            "reported_state": row["reported_state"],
            "launch_bindings": row["launch_bindings"],
            "errors": row["errors"],
            "deployed_at": _time(row["deployed_at"]),
        }
    }


def desired(row: Row) -> dict[str, str]:
    """The part of an instance the platform must converge to; what the checksum covers."""
    return {
        "id": str(row["id"]),
        "build_id": str(row["build_id"]),
        "product_id": str(row["product_id"]),
        "image": str(row["image"]),
        "desired_state": str(row["desired_state"]),
    }


def checksum(instances: Iterable[Mapping[str, str]]) -> str:
    """SHA-256 over the desired states sorted by id, as compact JSON with sorted keys."""
    ordered = sorted(instances, key=lambda i: i["id"])
    text = json.dumps(ordered, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return "sha256:" + hashlib.sha256(text.encode("ascii")).hexdigest()
