"""asyncpg pool, per-service database bootstrap and a replica-safe SQL migration runner."""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import orjson
import structlog

from hspm.common.errors import ServiceUnavailable

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    # What store functions take: a plain connection or one borrowed from a pool.
    Conn: TypeAlias = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]
    Borrowed: TypeAlias = PoolConnectionProxy[asyncpg.Record]
else:
    Conn = asyncpg.Connection
    Borrowed = asyncpg.Connection

log = structlog.get_logger(__name__)

# Any constant works; it only has to be the same for every replica of every service.
_MIGRATION_LOCK_KEY = 0x6873706D  # "hspm"
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


async def _init_connection(conn: asyncpg.Connection) -> None:
    for kind in ("json", "jsonb"):
        await conn.set_type_codec(
            kind, encoder=lambda v: orjson.dumps(v).decode(), decoder=orjson.loads, schema="pg_catalog"
        )


async def _no_reset(_: asyncpg.Connection) -> None:
    """Services never change session state, so the default reset round trip is waste."""


async def create_pool(dsn: str, min_size: int = 2, max_size: int = 32) -> asyncpg.Pool:
    """A pool with orjson codecs; size it at least as large as in-flight requests."""
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        command_timeout=30,
        max_inactive_connection_lifetime=300,
        init=_init_connection,
        reset=_no_reset,
    )
    assert pool is not None
    return pool


async def borrow(pool: asyncpg.Pool, timeout: float) -> Borrowed:
    """A connection from the pool, or a 503 when none frees up within ``timeout``."""
    if pool.get_idle_size() > 0:
        # An idle connection is handed over without waiting: no timer needed (a timer
        # per request cost 6% of a cheap read).
        return await pool.acquire()
    try:
        # asyncio.timeout rather than acquire(timeout=): no extra task per request.
        async with asyncio.timeout(timeout):
            conn = await pool.acquire()
    except TimeoutError as exc:
        raise ServiceUnavailable("The database is busy; retry shortly.") from exc
    return conn


@asynccontextmanager
async def acquire(pool: asyncpg.Pool, timeout: float) -> AsyncIterator[Borrowed]:
    """Borrow a connection, turning an exhausted pool into a 503 instead of a queue."""
    conn = await borrow(pool, timeout)
    try:
        yield conn
    finally:
        await pool.release(conn)


def _with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + database))


def database_name(dsn: str) -> str:
    """The database a DSN points at."""
    return urlsplit(dsn).path.lstrip("/") or "postgres"


async def ensure_database(dsn: str) -> None:
    """Create the service's database when missing, tolerating a concurrent creator."""
    name = database_name(dsn)
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise ValueError(f"refusing unusual database name {name!r}")
    conn = await asyncpg.connect(_with_database(dsn, "postgres"))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
                log.info("db.created", database=name)
            except (asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
                pass
    finally:
        await conn.close()


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(package: str | None = None, directory: str | None = None) -> list[Migration]:
    """Numbered ``NNNN_name.sql`` files from a package's ``migrations`` folder or a directory."""
    files: Iterable[Any]
    if directory:
        files = Path(directory).iterdir()
    else:
        assert package is not None
        files = resources.files(package).joinpath("migrations").iterdir()
    found = []
    for f in files:
        match = _MIGRATION_NAME.match(f.name)
        if match:
            found.append(Migration(int(match.group(1)), f.name, f.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise ValueError(f"duplicate migration numbers in {package or directory}")
    return found


class MigrationDrift(RuntimeError):
    """An applied migration's file changed afterwards: refuse to start."""


async def migrate(pool: asyncpg.Pool, scopes: dict[str, list[Migration]]) -> list[str]:
    """Apply pending migrations, one transaction each, under a session advisory lock.

    ``scopes`` maps an owner (``"common"`` for the outbox tables, then the service) to its
    migrations; they apply in that order. Several replicas starting at once queue on the
    lock; the first applies, the others find nothing left to do.
    """
    applied: list[str] = []
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK_KEY)
        try:
            await conn.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                       scope text NOT NULL,
                       version integer NOT NULL,
                       name text NOT NULL,
                       checksum text NOT NULL,
                       applied_at timestamptz NOT NULL DEFAULT now(),
                       PRIMARY KEY (scope, version))"""
            )
            rows = await conn.fetch("SELECT scope, version, checksum FROM schema_migrations")
            done = {(r["scope"], r["version"]): r["checksum"] for r in rows}
            for scope, migrations in scopes.items():
                for m in migrations:
                    if await _apply_one(conn, scope, m, done.get((scope, m.version))):
                        applied.append(f"{scope}/{m.name}")
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK_KEY)
    return applied


async def _apply_one(conn: Conn, scope: str, m: Migration, applied_checksum: str | None) -> bool:
    if applied_checksum is not None:
        if applied_checksum != m.checksum:
            raise MigrationDrift(f"migration {scope}/{m.name} changed after it was applied")
        return False
    async with conn.transaction():
        await conn.execute(m.sql)
        await conn.execute(
            "INSERT INTO schema_migrations (scope, version, name, checksum) VALUES ($1, $2, $3, $4)",
            scope,
            m.version,
            m.name,
            m.checksum,
        )
    log.info("db.migrated", scope=scope, migration=m.name)
    return True
