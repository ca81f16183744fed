"""JSON shapes of builds and their packaging, with the spec's ``path`` and ``url``."""

from __future__ import annotations

from typing import Any

import asyncpg

from hspm.catalog.builds import rules

_BUILD = (
    "id",
    "product_id",
    "version",
    "software_version",
    "ordinal",
    "release_notes",
    "permissions",
    "container_registry",
    "container_repository",
    "container_tag",
    "image_digest",
    "validated_at",
    "published_at",
    "withdrawn_at",
    "status",
    "status_reason",
    "created_at",
    "updated_at",
    "asset_available",
)
_TASK = (
    "id",
    "configuration_id",
    "name",
    "memory_minimum",
    "memory_maximum",
    "instances_minimum",
    "instances_maximum",
    "options",
    "ports",
    "cron",
    "environment",
    "created_at",
    "updated_at",
)


def _link(body: dict[str, Any], base: str, path: str) -> dict[str, Any]:
    body["path"] = path
    body["url"] = base + path
    return body


def build_path(product_id: Any, build_id: Any) -> str:
    return f"/products/{product_id}/builds/{build_id}"


def build(row: asyncpg.Record, base: str) -> dict[str, Any]:
    """The build; ``image`` is what platforms pull: ``registry/repository@digest`` once the
    digest is known (pinned by validation, or declared), else by tag."""
    body = {k: row[k] for k in _BUILD}
    body["image"] = rules.image_reference(
        row["container_registry"], row["container_repository"], row["container_tag"], row["image_digest"]
    )
    return _link(body, base, build_path(row["product_id"], row["id"]))


def configuration(row: asyncpg.Record, base: str, build_at: str) -> dict[str, Any]:
    body = {k: row[k] for k in ("id", "build_id", "name", "default", "created_at", "updated_at")}
    return _link(body, base, f"{build_at}/configurations/{row['id']}")


def task(row: asyncpg.Record, base: str, configuration_at: str) -> dict[str, Any]:
    return _link({k: row[k] for k in _TASK}, base, f"{configuration_at}/tasks/{row['id']}")


def exposure(row: asyncpg.Record, base: str, build_at: str) -> dict[str, Any]:
    body = {k: row[k] for k in ("id", "build_id", "interface_id", "created_at", "updated_at")}
    return _link(body, base, f"{build_at}/exposures/{row['id']}")


def parameter(row: asyncpg.Record, base: str, exposure_at: str) -> dict[str, Any]:
    body = {k: row[k] for k in ("id", "exposure_id", "name", "required", "created_at", "updated_at")}
    return _link(body, base, f"{exposure_at}/parameters/{row['id']}")


def dependency(row: asyncpg.Record, base: str, build_at: str) -> dict[str, Any]:
    body = {
        k: row[k]
        for k in (
            "id",
            "build_id",
            "interface_id",
            "product_id",
            "build_ids",
            "name",
            "required",
            "mappings",
            "created_at",
            "updated_at",
        )
    }
    return _link(body, base, f"{build_at}/dependencies/{row['id']}")
