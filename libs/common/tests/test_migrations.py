"""The SQL migration runner and database bootstrap, against real PostgreSQL.

Every migration here is a bare ``CREATE TABLE``: applying one twice would fail, so a
passing concurrent run proves each applied exactly once.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

from hspm.common import db
from hspm.common.db import MigrationDrift

FILES = {
    "0001_parents.sql": "CREATE TABLE parents (id int PRIMARY KEY);",
    # Needs 0001's table: applying out of order fails.
    "0002_children.sql": "CREATE TABLE children (parent_id int REFERENCES parents (id));",
    "0010_toys.sql": "CREATE TABLE toys (child int);",
}
IGNORED = {
    "3_short_number.sql": "CREATE TABLE nope1 (x int);",
    "0004_Upper.sql": "CREATE TABLE nope2 (x int);",
    "0005-dash.sql": "CREATE TABLE nope3 (x int);",
    "0006_not_sql.txt": "CREATE TABLE nope4 (x int);",
    "README.md": "not a migration",
    "0007_backup.sql~": "CREATE TABLE nope5 (x int);",
}


def write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(exist_ok=True)
    for name, sql in files.items():
        (directory / name).write_text(sql, encoding="utf-8")
    return directory


@pytest.fixture
def migrations_dir(tmp_path: Path) -> Path:
    return write(tmp_path / "migrations", FILES | IGNORED)


@pytest_asyncio.fixture
async def pool(fresh_db: str) -> AsyncIterator[asyncpg.Pool]:
    await db.ensure_database(fresh_db)
    the_pool = await db.create_pool(fresh_db, min_size=1, max_size=2)
    yield the_pool
    await the_pool.close()


async def tables(pool: asyncpg.Pool) -> set[str]:
    rows = await pool.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {r["tablename"] for r in rows}


class TestLoadMigrations:
    def test_numbered_sql_files_in_version_order(self, migrations_dir: Path) -> None:
        found = db.load_migrations(directory=str(migrations_dir))
        assert [(m.version, m.name) for m in found] == [
            (1, "0001_parents.sql"),
            (2, "0002_children.sql"),
            (10, "0010_toys.sql"),
        ]
        assert found[0].sql == FILES["0001_parents.sql"]

    def test_duplicate_numbers_raise(self, tmp_path: Path) -> None:
        write(tmp_path, {"0001_a.sql": "SELECT 1;", "0001_b.sql": "SELECT 2;"})
        with pytest.raises(ValueError, match="duplicate migration numbers"):
            db.load_migrations(directory=str(tmp_path))

    def test_package_migrations_ship_the_outbox(self) -> None:
        names = [m.name for m in db.load_migrations("hspm.common")]
        assert names[0] == "0001_outbox.sql"


class TestMigrate:
    async def test_applies_in_order_and_records_checksums(
        self, pool: asyncpg.Pool, migrations_dir: Path
    ) -> None:
        migrations = db.load_migrations(directory=str(migrations_dir))
        applied = await db.migrate(pool, {"svc": migrations})

        assert applied == ["svc/0001_parents.sql", "svc/0002_children.sql", "svc/0010_toys.sql"]
        assert await tables(pool) == {"schema_migrations", "parents", "children", "toys"}
        rows = await pool.fetch(
            "SELECT scope, version, name, checksum FROM schema_migrations ORDER BY version"
        )
        assert [tuple(r) for r in rows] == [
            ("svc", int(name[:4]), name, hashlib.sha256(sql.encode()).hexdigest())
            for name, sql in FILES.items()
        ]

    async def test_scopes_apply_in_the_order_given(self, pool: asyncpg.Pool, migrations_dir: Path) -> None:
        applied = await db.migrate(
            pool,
            {
                "common": db.load_migrations("hspm.common"),
                "svc": db.load_migrations(directory=str(migrations_dir)),
            },
        )
        assert applied[0] == "common/0001_outbox.sql"
        assert applied[1:] == ["svc/0001_parents.sql", "svc/0002_children.sql", "svc/0010_toys.sql"]

    async def test_second_run_applies_nothing(self, pool: asyncpg.Pool, migrations_dir: Path) -> None:
        scopes = {"svc": db.load_migrations(directory=str(migrations_dir))}
        await db.migrate(pool, scopes)
        assert await db.migrate(pool, scopes) == []
        assert await pool.fetchval("SELECT count(*) FROM schema_migrations") == len(FILES)

    async def test_new_file_is_applied_on_the_next_run(
        self, pool: asyncpg.Pool, migrations_dir: Path
    ) -> None:
        await db.migrate(pool, {"svc": db.load_migrations(directory=str(migrations_dir))})
        write(migrations_dir, {"0011_more.sql": "CREATE TABLE more (x int);"})
        scopes = {"svc": db.load_migrations(directory=str(migrations_dir))}
        assert await db.migrate(pool, scopes) == ["svc/0011_more.sql"]

    async def test_concurrent_runs_apply_each_migration_once(
        self, fresh_db: str, migrations_dir: Path
    ) -> None:
        await db.ensure_database(fresh_db)
        scopes = {"svc": db.load_migrations(directory=str(migrations_dir))}
        pools = [await db.create_pool(fresh_db, min_size=1, max_size=1) for _ in range(4)]
        try:
            results = await asyncio.gather(*(db.migrate(p, scopes) for p in pools))
            count = await pools[0].fetchval("SELECT count(*) FROM schema_migrations")
        finally:
            for p in pools:
                await p.close()

        assert sorted(name for result in results for name in result) == [
            "svc/0001_parents.sql",
            "svc/0002_children.sql",
            "svc/0010_toys.sql",
        ]
        assert count == len(FILES)

    async def test_changed_file_after_apply_raises_drift(
        self, pool: asyncpg.Pool, migrations_dir: Path
    ) -> None:
        await db.migrate(pool, {"svc": db.load_migrations(directory=str(migrations_dir))})
        write(migrations_dir, {"0002_children.sql": "CREATE TABLE children (id int);"})
        changed = {"svc": db.load_migrations(directory=str(migrations_dir))}

        with pytest.raises(MigrationDrift, match="svc/0002_children.sql"):
            await db.migrate(pool, changed)

    async def test_failed_migration_rolls_back_and_releases_the_lock(
        self, fresh_db: str, tmp_path: Path
    ) -> None:
        await db.ensure_database(fresh_db)
        broken = write(
            tmp_path / "broken",
            {
                "0001_ok.sql": "CREATE TABLE ok (x int);",
                "0002_bad.sql": "CREATE TABLE half (x int); SELEC 1;",
            },
        )
        first = await db.create_pool(fresh_db, min_size=1, max_size=1)
        second = await db.create_pool(fresh_db, min_size=1, max_size=1)
        try:
            with pytest.raises(asyncpg.PostgresSyntaxError):
                await db.migrate(first, {"svc": db.load_migrations(directory=str(broken))})
            assert await tables(first) == {"schema_migrations", "ok"}
            versions = await first.fetch("SELECT version FROM schema_migrations")
            assert [r["version"] for r in versions] == [1]

            # The lock went with the failure: another replica is not blocked by it.
            write(broken, {"0002_bad.sql": "CREATE TABLE half (x int);"})
            fixed = {"svc": db.load_migrations(directory=str(broken))}
            assert await asyncio.wait_for(db.migrate(second, fixed), 10) == ["svc/0002_bad.sql"]
        finally:
            await first.close()
            await second.close()


class TestEnsureDatabase:
    async def exists(self, pg_dsn: str, name: str) -> bool:
        conn = await asyncpg.connect(pg_dsn)
        try:
            query = "SELECT 1 FROM pg_database WHERE datname::text = $1"
            return bool(await conn.fetchval(query, name))
        finally:
            await conn.close()

    async def test_creates_once_and_then_tolerates_existing(self, pg_dsn: str, another_db: str) -> None:
        name = db.database_name(another_db)
        assert not await self.exists(pg_dsn, name)
        await db.ensure_database(another_db)
        assert await self.exists(pg_dsn, name)
        await db.ensure_database(another_db)  # no error the second time
        conn = await asyncpg.connect(another_db)
        await conn.close()

    async def test_concurrent_callers_all_succeed(self, pg_dsn: str, another_db: str) -> None:
        await asyncio.gather(*(db.ensure_database(another_db) for _ in range(4)))
        assert await self.exists(pg_dsn, db.database_name(another_db))

    @pytest.mark.parametrize("name", ["Upper", "semi;colon", "has space", "x" * 64, "1digit"])
    async def test_refuses_unusual_names(self, pg_dsn: str, name: str) -> None:
        dsn = f"postgresql://postgres@127.0.0.1:5432/{name}"  # refused before connecting
        with pytest.raises(ValueError, match="unusual database name"):
            await db.ensure_database(dsn)
        assert not await self.exists(pg_dsn, name)

    def test_database_name_from_dsn(self) -> None:
        assert db.database_name("postgresql://u@h:5432/catalog?sslmode=disable") == "catalog"
        assert db.database_name("postgresql://u@h:5432") == "postgres"
