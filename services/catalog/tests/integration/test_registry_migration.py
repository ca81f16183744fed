"""Issue 9: the migration to one stored registry form (bare ``host[:port]``, no scheme) and
repositories without a registry host in them."""

from __future__ import annotations

from uuid import uuid4

import asyncpg

from hspm.common import db
from hspm.common.testing import unique

# Rows as imports and the API stored them before: (registry, repository) -> after.
ROWS = {
    ("https://index.docker.io/v1/", "northwind/sepsis-hooks"): ("index.docker.io", "northwind/sepsis-hooks"),
    ("https://ghcr.io", "ghcr.io/peds-tools/app"): ("ghcr.io", "peds-tools/app"),
    ("http://user:secret@Registry.Example.org:5000/v2/", "org/app"): ("registry.example.org:5000", "org/app"),
    ("registry.example.org:5000", "org/app"): ("registry.example.org:5000", "org/app"),
    ("https://registry.quality.example", "registry.quality.example/m/a1c"): (
        "registry.quality.example",
        "m/a1c",
    ),
    (None, "localhost:5000/samples/x"): ("localhost:5000", "samples/x"),
    (None, "acme/app"): (None, "acme/app"),
    ("", "acme/app"): (None, "acme/app"),
    # A repository naming another registry than the build's is left for review to refuse.
    ("https://ghcr.io", "quay.io/acme/app"): ("ghcr.io", "quay.io/acme/app"),
}


async def test_canonical_registry_migration(pg_dsn: str) -> None:
    dsn = f"{pg_dsn.rsplit('/', 1)[0]}/{unique('hspm_test_catalog_migration')}"
    await db.ensure_database(dsn)
    pool = await db.create_pool(dsn, min_size=1, max_size=2)
    catalog = db.load_migrations("hspm.catalog")
    before = [m for m in catalog if m.version <= 3]
    try:
        await db.migrate(pool, {"common": db.load_migrations("hspm.common"), "catalog": before})
        async with pool.acquire() as conn:
            pid = uuid4()
            await conn.execute("INSERT INTO products (id, user_id, name) VALUES ($1, $2, 'P')", pid, uuid4())
            ids = {}
            for i, (registry, repository) in enumerate(ROWS):
                ids[(registry, repository)] = bid = uuid4()
                await conn.execute(
                    "INSERT INTO builds (id, product_id, version, container_registry, container_repository) "
                    "VALUES ($1, $2, $3, $4, $5)",
                    bid,
                    pid,
                    f"1.0.{i}",
                    registry,
                    repository,
                )
        applied = await db.migrate(pool, {"common": db.load_migrations("hspm.common"), "catalog": catalog})
        assert any("canonical_registry" in name for name in applied), applied
        async with pool.acquire() as conn:
            for key, expected in ROWS.items():
                row = await conn.fetchrow(
                    "SELECT container_registry, container_repository FROM builds WHERE id = $1", ids[key]
                )
                assert (row["container_registry"], row["container_repository"]) == expected, key
    finally:
        await pool.close()
        conn = await asyncpg.connect(f"{pg_dsn.rsplit('/', 1)[0]}/postgres")
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{db.database_name(dsn)}" WITH (FORCE)')
        finally:
            await conn.close()
