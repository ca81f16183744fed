"""asyncpg pool, per-service database bootstrap and a replica-safe SQL migration runner."""

from __future__ import annotations

import asyncio
import hashlib
import re
import sys
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
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
    _AsyncpgPool: TypeAlias = asyncpg.Pool[asyncpg.Record]
else:
    Conn = asyncpg.Connection
    Borrowed = asyncpg.Connection
    _AsyncpgPool = asyncpg.Pool

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


class PoolBusy(ServiceUnavailable):
    """No connection for this request: too many already wait, or none freed up in time."""

    retry_after = 1


class Gate:
    """First come, first served admission to a pool's connections, with a bounded line.

    asyncpg's own queue lets a newcomer take a connection released for a waiter, which
    then queues again at the back: with a pool smaller than the load's concurrency a few
    requests starve (a p99 of 300+ ms at a p50 of 2 ms). Here a released permit goes to
    the longest waiter directly.

    Under overload a request is turned away at once (``PoolBusy``, a 503 with
    Retry-After) rather than after waiting out its timeout: when ``max_waiting`` are
    already in line, or when its expected wait (its place in line times the recent time
    between two permits coming back) is longer than the timeout.

    Waits end in line order under one timer per gate (a timer per waiting request cost
    a tenth of a cheap read), so a gate should be given one timeout.
    """

    __slots__ = ("_clock", "_free", "_interval", "_last_leave", "_line", "_timer", "max_waiting")

    def __init__(self, permits: int, max_waiting: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._free = permits
        self._line: deque[tuple[float, asyncio.Future[None]]] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self.max_waiting = max_waiting
        self._clock = clock
        # Seconds between two permits coming back while requests wait (a moving average).
        self._interval = 0.0
        self._last_leave = 0.0

    @property
    def waiting(self) -> int:
        return len(self._line)

    @property
    def full(self) -> bool:
        """No room in line: a request needing a connection now would be turned away."""
        return len(self._line) >= self.max_waiting and self._free <= 0

    def try_enter(self) -> bool:
        """Take a permit if one is free (never ahead of a waiter: permits go to them first)."""
        if self._free > 0:
            self._free -= 1
            return True
        return False

    async def enter(self, timeout: float) -> None:
        """Wait in line for a permit; ``PoolBusy`` when it would not come within ``timeout``."""
        if self.try_enter():
            return
        ahead = len(self._line)
        if ahead >= self.max_waiting or (ahead + 1) * self._interval > timeout:
            raise PoolBusy("The service is busy; retry shortly.")
        if not ahead:
            self._last_leave = self._clock()  # the pool is saturated from now on
        loop = asyncio.get_running_loop()
        turn: asyncio.Future[None] = loop.create_future()
        entry = (loop.time() + timeout, turn)
        self._line.append(entry)
        if self._timer is None:
            self._timer = loop.call_at(entry[0], self._expire)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.leave()  # handed a permit just as the request was cancelled: pass it on
            elif entry in self._line:
                self._line.remove(entry)
            raise

    def leave(self) -> None:
        """Give the permit back: to the longest waiter if there is one."""
        if self._line:
            now = self._clock()
            gap = now - self._last_leave
            self._interval = gap if not self._interval else self._interval + (gap - self._interval) / 16
            self._last_leave = now
        else:
            # Nobody waiting: the pace is not measured, and an old slow one (a stalled
            # database) must not keep turning requests away once it is over.
            self._interval -= self._interval / 16
        while self._line:
            _, turn = self._line.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self._free += 1

    def _expire(self) -> None:
        self._timer = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        while self._line and self._line[0][0] <= now:
            _, turn = self._line.popleft()
            if not turn.done():
                turn.set_exception(PoolBusy("The database is busy; retry shortly."))
        if self._line:
            self._timer = loop.call_at(self._line[0][0], self._expire)


class Pool(_AsyncpgPool):
    """asyncpg's pool with the gate requests borrow through (``borrow``)."""

    __slots__ = ("gate",)

    def __init__(self, *args: Any, max_waiting: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate = Gate(kwargs["max_size"], max_waiting)


# Connecting failed for a reason a retry may not meet (the server's connection slots are
# all taken, it is starting or stopping, the network): the request is a 503, not a 500.
_CONNECT_ERRORS = (
    asyncpg.TooManyConnectionsError,
    asyncpg.CannotConnectNowError,
    asyncpg.PostgresConnectionError,
    OSError,
)


async def create_pool(
    dsn: str, min_size: int = 2, max_size: int = 32, max_waiting: int | None = None
) -> Pool:
    """A pool with orjson codecs; requests borrow through its gate (``borrow``).

    ``max_waiting`` requests may wait for a connection (default: 16 per connection)
    before the next is turned away with a 503 at once. ``min_size`` equal to ``max_size``
    opens every connection at start: none is opened under load, when a busy server is
    slowest to fork a backend (or has no slot left for it).
    """
    min_size = min(min_size, max_size)
    pool = Pool(
        dsn,
        max_waiting=16 * max_size if max_waiting is None else max_waiting,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        min_size=min_size,
        max_size=max_size,
        max_queries=50_000,
        loop=None,
        command_timeout=30,
        # A pool kept full has nothing to close when idle, and so needs no timer armed
        # on every release.
        max_inactive_connection_lifetime=0 if min_size >= max_size else 300,
        init=_init_connection,
        reset=_no_reset,
    )
    await pool
    return pool


# A plain asyncpg pool (a test's) has no gate: this one never runs out.
_UNGATED = Gate(sys.maxsize, 0)


def _gate(pool: asyncpg.Pool) -> Gate:
    return pool.gate if isinstance(pool, Pool) else _UNGATED


async def borrow(pool: asyncpg.Pool, timeout: float) -> Borrowed:
    """A connection for a request, or ``PoolBusy`` (503 with Retry-After); give it back
    with ``give_back``.

    The gate keeps requests in arrival order; the pool's own wait is then short, unless
    background work (the relay, consumers) holds connections too.
    """
    gate = _gate(pool)
    if not gate.try_enter():
        await gate.enter(timeout)
    try:
        if pool.get_idle_size() > 0:
            # An idle connection is handed over without waiting: no timer needed (a timer
            # per request cost 6% of a cheap read).
            return await pool.acquire()
        async with asyncio.timeout(timeout):
            return await pool.acquire()
    except TimeoutError as exc:
        gate.leave()
        raise PoolBusy("The database is busy; retry shortly.") from exc
    except _CONNECT_ERRORS as exc:
        gate.leave()
        log.warning("db.connect_failed", error=type(exc).__name__)
        raise PoolBusy("The database refused a connection; retry shortly.") from exc
    except BaseException:
        gate.leave()
        raise


async def give_back(pool: asyncpg.Pool, conn: Borrowed) -> None:
    """Return a connection ``borrow`` gave, and its place at the gate."""
    try:
        await pool.release(conn)
    finally:
        _gate(pool).leave()


@asynccontextmanager
async def acquire(pool: asyncpg.Pool, timeout: float) -> AsyncIterator[Borrowed]:
    """Borrow a connection, turning an exhausted pool into a 503 instead of a queue."""
    conn = await borrow(pool, timeout)
    try:
        yield conn
    finally:
        await give_back(pool, conn)


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
