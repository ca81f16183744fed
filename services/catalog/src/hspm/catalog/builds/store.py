"""All SQL of builds and their packaging. Functions take a connection and plain values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

import asyncpg

from hspm.common import sql
from hspm.common.db import Conn
from hspm.common.paging import PageParams

Record = asyncpg.Record

BUILD_COLS = (
    "id, product_id, version, version_core, version_pre, ordinal, software_version, container_registry, "
    "container_repository, container_tag, image_digest, image_digest_pinned, release_notes, permissions, "
    "status, status_reason, "
    "validated_at, published_at, withdrawn_at, asset IS NOT NULL AS asset_available, created_at, updated_at"
)
CONFIGURATION_COLS = 'id, build_id, name, "default", created_at, updated_at'
TASK_COLS = (
    "id, configuration_id, name, memory_minimum, memory_maximum, instances_minimum, instances_maximum, "
    "options, ports, cron, environment, created_at, updated_at"
)
EXPOSURE_COLS = "id, build_id, interface_id, created_at, updated_at"
PARAMETER_COLS = "id, exposure_id, name, required, created_at, updated_at"
DEPENDENCY_COLS = (
    "id, build_id, interface_id, product_id, build_ids, name, required, mappings, created_at, updated_at"
)

# SemVer precedence: release core, a release above its pre-releases, pre-release identifiers
# (keys built by ``rules.pre_release_key``), then the ISV's ordinal and age.
_VERSION_ORDER = (
    'version_core {o}, (version_pre IS NULL) {o}, version_pre COLLATE "C" {o}, ordinal {o} NULLS FIRST, '
    "created_at {o}"
)


# --- builds --------------------------------------------------------------------------------


async def insert_build(conn: Conn, build_id: UUID, product_id: UUID, fields: Mapping[str, Any]) -> Record:
    """A draft build; ``fields`` are build columns (version_core/version_pre included)."""
    return await sql.insert(conn, "builds", BUILD_COLS, {"id": build_id, "product_id": product_id, **fields})


async def get_build(conn: Conn, build_id: UUID, lock: bool = False) -> Record | None:
    suffix = " FOR UPDATE" if lock else ""
    return await conn.fetchrow(f"SELECT {BUILD_COLS} FROM builds WHERE id = $1{suffix}", build_id)


async def list_builds(
    conn: Conn,
    product_id: UUID,
    page: PageParams,
    version: str | None,
    status: str | None,
    *,
    published_only: bool,
    hidden_statuses: Sequence[str] = (),
) -> tuple[list[Record], int]:
    """A product's builds; ``published_only`` leaves drafts out, ``hidden_statuses`` those states."""
    where = sql.Where().add("product_id = {}", product_id)
    if published_only:
        where.add("published_at IS NOT NULL")
    if hidden_statuses:
        where.add("status <> ALL({})", list(hidden_statuses))
    if version:
        where.add("version = {}", version)
    if status:
        where.add("status = {}", status)
    order = None
    if page.sort == "version":
        order = _VERSION_ORDER.format(o=page.order)
    elif page.sort == "published_at":
        order = f"published_at {page.order} NULLS LAST"
    return await sql.page(conn, "builds", BUILD_COLS, where, page, order)


async def update_build(conn: Conn, build_id: UUID, fields: Mapping[str, Any]) -> Record | None:
    return await sql.update(conn, "builds", BUILD_COLS, build_id, fields)


async def delete_build(conn: Conn, build_id: UUID) -> Record | None:
    return await sql.delete(conn, "builds", BUILD_COLS, build_id)


async def set_status(
    conn: Conn, build_id: UUID, status: str, reason: str | None, pinned_digest: str | None = None
) -> Record | None:
    """The status curation decided; ``pinned_digest`` (the validated one) replaces the digest."""
    return await conn.fetchrow(
        "UPDATE builds SET status = $2, status_reason = $3, updated_at = now(), "
        "image_digest = coalesce($4, image_digest), "
        "image_digest_pinned = image_digest_pinned OR $4 IS NOT NULL "
        f"WHERE id = $1 RETURNING {BUILD_COLS}",
        build_id,
        status,
        reason,
        pinned_digest,
    )


async def mark_submitted(conn: Conn, build_id: UUID) -> Record | None:
    """Submitted again: a digest pinned by an earlier validation goes (the new report pins
    what the tag names now); a digest the owner declared stays."""
    return await conn.fetchrow(
        "UPDATE builds SET status = 'submitted', status_reason = NULL, updated_at = now(), "
        "image_digest = CASE WHEN image_digest_pinned THEN NULL ELSE image_digest END, "
        "image_digest_pinned = false "
        f"WHERE id = $1 RETURNING {BUILD_COLS}",
        build_id,
    )


async def mark_validated(conn: Conn, build_id: UUID) -> None:
    await conn.execute("UPDATE builds SET validated_at = now() WHERE id = $1", build_id)


async def mark_published(conn: Conn, build_id: UUID) -> Record | None:
    return await conn.fetchrow(
        "UPDATE builds SET status = 'published', published_at = now(), withdrawn_at = NULL, "
        "updated_at = now() "
        f"WHERE id = $1 RETURNING {BUILD_COLS}",
        build_id,
    )


async def mark_withdrawn(conn: Conn, build_id: UUID) -> None:
    await conn.execute("UPDATE builds SET withdrawn_at = now() WHERE id = $1", build_id)


async def build_owner(conn: Conn, build_id: UUID) -> Record | None:
    """The build's product with its owner and MIME type (for the submission snapshot)."""
    return await conn.fetchrow(
        "SELECT p.id, p.user_id, p.mime_type FROM builds b JOIN products p ON p.id = b.product_id "
        "WHERE b.id = $1",
        build_id,
    )


# --- asset ---------------------------------------------------------------------------------


async def set_asset(
    conn: Conn,
    build_id: UUID,
    data: bytes | None,
    name: str | None,
    content_type: str | None,
    sha256: str | None,
) -> None:
    await conn.execute(
        "UPDATE builds SET asset = $2, asset_name = $3, asset_content_type = $4, asset_sha256 = $5, "
        "updated_at = now() WHERE id = $1",
        build_id,
        data,
        name,
        content_type,
        sha256,
    )


async def get_asset(conn: Conn, build_id: UUID) -> Record | None:
    return await conn.fetchrow(
        "SELECT asset, asset_name, asset_content_type, asset_sha256 FROM builds "
        "WHERE id = $1 AND asset IS NOT NULL",
        build_id,
    )


# --- packaging: configurations and tasks, exposures and parameters, dependencies -------------

# Each packaging table, its columns, and the column naming what its rows hang under.
PACKAGING = {
    "configurations": (CONFIGURATION_COLS, "build_id"),
    "tasks": (TASK_COLS, "configuration_id"),
    "exposures": (EXPOSURE_COLS, "build_id"),
    "parameters": (PARAMETER_COLS, "exposure_id"),
    "dependencies": (DEPENDENCY_COLS, "build_id"),
}


async def insert_record(
    conn: Conn, table: str, record_id: UUID, parent_id: UUID, fields: Mapping[str, Any]
) -> Record:
    """A row of a ``PACKAGING`` table under ``parent_id``; jsonb columns take plain lists and dicts."""
    cols, parent = PACKAGING[table]
    return await sql.insert(conn, table, cols, {"id": record_id, parent: parent_id, **fields})


async def get_record(conn: Conn, table: str, record_id: UUID, parent_id: UUID) -> Record | None:
    """The row if it hangs under ``parent_id``; None when missing or under something else."""
    cols, parent = PACKAGING[table]
    return await conn.fetchrow(
        f"SELECT {cols} FROM {table} WHERE id = $1 AND {parent} = $2", record_id, parent_id
    )


async def list_records(conn: Conn, table: str, parent_id: UUID, page: PageParams) -> tuple[list[Record], int]:
    cols, parent = PACKAGING[table]
    return await sql.page(conn, table, cols, sql.Where().add(f"{parent} = {{}}", parent_id), page)


async def update_record(conn: Conn, table: str, record_id: UUID, fields: Mapping[str, Any]) -> Record | None:
    return await sql.update(conn, table, PACKAGING[table][0], record_id, fields)


async def delete_record(conn: Conn, table: str, record_id: UUID) -> None:
    """Children go with it: a configuration's tasks, an exposure's parameters."""
    await sql.delete(conn, table, PACKAGING[table][0], record_id)


async def insert_configuration(
    conn: Conn, configuration_id: UUID, build_id: UUID, fields: Mapping[str, Any]
) -> Record:
    """``fields``: name, default. Setting ``default`` clears the build's other default first."""
    if fields.get("default"):
        await clear_default(conn, build_id, configuration_id)
    return await insert_record(conn, "configurations", configuration_id, build_id, fields)


async def clear_default(conn: Conn, build_id: UUID, keep: UUID) -> None:
    await conn.execute(
        'UPDATE configurations SET "default" = false, updated_at = now() '
        'WHERE build_id = $1 AND id <> $2 AND "default"',
        build_id,
        keep,
    )


# What a submission snapshots for curation, in a stable order.


async def tasks_of_build(conn: Conn, build_id: UUID) -> list[Record]:
    return list(
        await conn.fetch(
            f"SELECT {', '.join('t.' + c.strip() for c in TASK_COLS.split(','))} FROM tasks t "
            "JOIN configurations c ON c.id = t.configuration_id WHERE c.build_id = $1 ORDER BY t.name, t.id",
            build_id,
        )
    )


async def configurations_of_build(conn: Conn, build_id: UUID) -> list[Record]:
    return list(
        await conn.fetch(
            f"SELECT {CONFIGURATION_COLS} FROM configurations WHERE build_id = $1 ORDER BY name, id", build_id
        )
    )


async def exposures_of_build(conn: Conn, build_id: UUID) -> list[Record]:
    """Each exposure with its interface and its parameter names (the submission snapshot)."""
    return list(
        await conn.fetch(
            "SELECT e.interface_id, i.uri AS interface_uri, i.name AS interface_name, "
            "coalesce(array_agg(pa.name ORDER BY pa.name) FILTER (WHERE pa.id IS NOT NULL), '{}') "
            "AS parameters "
            "FROM exposures e JOIN interfaces i ON i.id = e.interface_id "
            "LEFT JOIN parameters pa ON pa.exposure_id = e.id WHERE e.build_id = $1 "
            "GROUP BY e.id, i.uri, i.name ORDER BY i.name, e.id",
            build_id,
        )
    )


# A dependency names a product (and maybe some of its builds) that must exist.


async def product_exists(conn: Conn, product_id: UUID) -> bool:
    return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM products WHERE id = $1)", product_id))


async def foreign_builds(conn: Conn, product_id: UUID, build_ids: list[UUID]) -> list[UUID]:
    """Of ``build_ids``, those that are not builds of ``product_id``."""
    rows = await conn.fetch(
        "SELECT x FROM unnest($2::uuid[]) AS x WHERE NOT EXISTS "
        "(SELECT 1 FROM builds b WHERE b.id = x AND b.product_id = $1)",
        product_id,
        build_ids,
    )
    return [r["x"] for r in rows]
