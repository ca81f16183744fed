"""An event written with a change reaches its consumer's effect exactly once.

Real PostgreSQL (a producer database and a consumer database) and real RabbitMQ: the
relay and the consumer are SIGKILLed mid-way in subprocesses, and the consumer's
effects table, which has no unique key, shows any double application.
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest
import pytest_asyncio
from aio_pika.abc import AbstractIncomingMessage

from hspm.common import outbox
from hspm.common.bus import DELIVERY_LIMIT, OutgoingMessage, Unroutable
from hspm.common.events import Event, parse
from hspm.common.events.identity import GroupDeleted, UserCreated
from hspm.common.testing import wait_for

HERE = Path(__file__).parent
SERVICE = "effects"
N = 20
USERS_DDL = "CREATE TABLE users (id uuid PRIMARY KEY, name text NOT NULL)"
# No unique key on purpose: applying an event twice leaves two rows.
EFFECTS_DDL = """CREATE TABLE effects (
    event_id uuid NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"""


@dataclass
class Producer:
    dsn: str
    pool: asyncpg.Pool

    async def create_user(self, name: str, *also: Event) -> UserCreated:
        """One change and its event, committed in one transaction."""
        event = UserCreated(user_id=uuid4(), name=name, producer="identity")
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("INSERT INTO users (id, name) VALUES ($1, $2)", event.user_id, name)
            await outbox.add(conn, event)
            for other in also:
                await outbox.add(conn, other)
        return event

    async def create_users(self, n: int) -> list[UserCreated]:
        return [await self.create_user(f"user {i}") for i in range(n)]

    async def relay_all(self, bus: Any) -> None:
        relay = outbox.Relay(self.pool, bus, self.dsn)
        while await relay.publish_batch():
            pass

    async def outbox_rows(self) -> list[asyncpg.Record]:
        return await self.pool.fetch("SELECT * FROM outbox ORDER BY id")


@dataclass
class Consumed:
    """The consuming service: applies each event once and counts what the broker sent."""

    dsn: str
    pool: asyncpg.Pool
    deliveries: Counter[UUID] = field(default_factory=Counter)
    redelivered: int = 0
    skipped: int = 0
    handled: int = 0

    async def handle(self, event: Event, message: AbstractIncomingMessage) -> None:
        self.deliveries[event.event_id] += 1
        if message.redelivered:
            self.redelivered += 1

        async def apply(conn: asyncpg.Connection) -> bool:
            await conn.execute("INSERT INTO effects (event_id) VALUES ($1)", event.event_id)
            return True

        if await outbox.handle_once(self.pool, event, apply) is None:
            self.skipped += 1
        self.handled += 1

    async def wait_handled(self, n: int, timeout: float = 15.0) -> None:
        async def done() -> bool:
            return self.handled >= n

        await wait_for(done, timeout=timeout)

    async def applied(self) -> Counter[UUID]:
        return Counter(r["event_id"] for r in await self.pool.fetch("SELECT event_id FROM effects"))

    async def assert_applied_exactly_once(self, events: list[UserCreated]) -> None:
        assert await self.applied() == Counter(e.event_id for e in events)
        claimed = await self.pool.fetchval("SELECT count(*) FROM processed_events")
        assert claimed == len(events)


@pytest_asyncio.fixture
async def producer(fresh_db: str, migrated_pool: Any) -> AsyncIterator[Producer]:
    pool = await migrated_pool(fresh_db, USERS_DDL)
    yield Producer(fresh_db, pool)
    await pool.close()


@pytest_asyncio.fixture
async def consumed(another_db: str, migrated_pool: Any) -> AsyncIterator[Consumed]:
    pool = await migrated_pool(another_db, EFFECTS_DDL, max_size=12)
    yield Consumed(another_db, pool)
    await pool.close()


@asynccontextmanager
async def running(script: str, *args: object) -> AsyncIterator[asyncio.subprocess.Process]:
    """A helper script in a subprocess, SIGKILLed (if still alive) on the way out."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(HERE / script),
        *map(str, args),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


async def read_marker(proc: asyncio.subprocess.Process, marker: str, timeout: float = 30.0) -> str:
    """The first output line starting with ``marker``; anything else is kept for the failure."""
    assert proc.stdout is not None
    other: list[str] = []

    async def scan() -> str:
        while raw := await proc.stdout.readline():  # type: ignore[union-attr]
            line = raw.decode().rstrip()
            if line.startswith(marker):
                return line
            other.append(line)
        raise AssertionError(f"helper exited before {marker!r}:\n" + "\n".join(other))

    try:
        return await asyncio.wait_for(scan(), timeout)
    except TimeoutError:
        raise AssertionError(f"no {marker!r} within {timeout}s:\n" + "\n".join(other)) from None


async def sigkill(proc: asyncio.subprocess.Process) -> None:
    proc.kill()
    assert await proc.wait() == -9


class TestTransactionalWrite:
    async def test_committed_changes_are_delivered_and_applied_once(
        self, producer: Producer, consumed: Consumed, broker: Any
    ) -> None:
        await broker.consume(SERVICE, [UserCreated.TYPE], consumed.handle)
        events = await producer.create_users(N)

        rows = await producer.outbox_rows()
        assert [parse(r["type"], r["body"]) for r in rows] == events

        await producer.relay_all(broker.bus)
        await consumed.wait_handled(N)

        assert consumed.deliveries == Counter(e.event_id for e in events)
        await consumed.assert_applied_exactly_once(events)
        rows = await producer.outbox_rows()
        assert all(r["published_at"] is not None and not r["unrouted"] for r in rows)
        assert {r["attempts"] for r in rows} == {1}

    async def test_rolled_back_change_leaves_no_row_and_delivers_nothing(
        self, producer: Producer, consumed: Consumed, broker: Any
    ) -> None:
        await broker.consume(SERVICE, [UserCreated.TYPE], consumed.handle)
        doomed = UserCreated(user_id=uuid4(), name="doomed")
        with pytest.raises(RuntimeError, match="abort"):
            async with producer.pool.acquire() as conn, conn.transaction():
                await conn.execute("INSERT INTO users VALUES ($1, $2)", doomed.user_id, "doomed")
                await outbox.add(conn, doomed)
                raise RuntimeError("abort")

        assert await producer.outbox_rows() == []
        assert await producer.pool.fetchval("SELECT count(*) FROM users") == 0

        # A later committed event proves the pipeline runs; the doomed one never shows.
        marker = await producer.create_user("marker")
        await producer.relay_all(broker.bus)
        await consumed.wait_handled(1)
        assert consumed.deliveries == Counter([marker.event_id])
        await consumed.assert_applied_exactly_once([marker])


class TestRelayLoop:
    async def test_notification_during_a_drain_is_not_lost(
        self, producer: Producer, consumed: Consumed, broker: Any
    ) -> None:
        """A commit's NOTIFY that lands while the relay drains must trigger another drain.

        The poll interval is far longer than the wait, so only the NOTIFY can deliver
        the second event in time.
        """
        await broker.consume(SERVICE, [UserCreated.TYPE], consumed.handle)
        relay = outbox.Relay(producer.pool, broker.bus, producer.dsn, poll_interval=120)
        pool = producer.pool
        late: list[UserCreated] = []

        async def woken() -> bool:
            return relay._wake.is_set()

        class CommitDuringDrain:
            async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
                rows: list[asyncpg.Record] = await pool.fetch(query, *args)
                if rows and not late:
                    late.append(await producer.create_user("late"))
                    await wait_for(woken)  # the relay's listener has the NOTIFY
                return rows

            async def execute(self, query: str, *args: Any) -> str:
                return await pool.execute(query, *args)

        relay.pool = CommitDuringDrain()  # type: ignore[assignment]
        first = await producer.create_user("first")
        task = asyncio.create_task(relay.run())
        try:
            await consumed.wait_handled(2, timeout=20)
        finally:
            await relay.stop()
            await asyncio.wait_for(task, 10)
        await consumed.assert_applied_exactly_once([first, *late])


class TestRelayKilledMidway:
    async def test_republished_events_are_applied_exactly_once(
        self, producer: Producer, consumed: Consumed, broker: Any
    ) -> None:
        await broker.consume(SERVICE, [UserCreated.TYPE], consumed.handle)
        events = await producer.create_users(N)

        async with running("crash_relay.py", producer.dsn, broker.url, broker.namespace, 1.0) as proc:
            assert await read_marker(proc, "PUBLISHED") == f"PUBLISHED {N}"
            await sigkill(proc)

        rows = await producer.outbox_rows()
        assert all(r["published_at"] is None and r["attempts"] == 1 for r in rows)
        await consumed.wait_handled(N)  # the dead relay's confirmed publications

        relay = outbox.Relay(producer.pool, broker.bus, producer.dsn, lease_seconds=1.0)
        # Nothing to lease until the dead relay's lease runs out; then all of it.
        assert await wait_for(relay.publish_batch) == N
        await consumed.wait_handled(2 * N)

        assert consumed.deliveries == Counter({e.event_id: 2 for e in events})
        assert consumed.skipped == N
        await consumed.assert_applied_exactly_once(events)
        rows = await producer.outbox_rows()
        assert all(r["published_at"] is not None and r["attempts"] == 2 for r in rows)


class TestConsumerKilledMidway:
    PREFETCH = 8
    ACKED = 3  # handled and acknowledged before the kill
    COMMITTED = 3  # effect committed, killed before the ack

    async def test_unacked_messages_are_redelivered_and_applied_exactly_once(
        self, producer: Producer, consumed: Consumed, broker: Any
    ) -> None:
        broker.services.add(SERVICE)
        async with running(
            "crash_consumer.py",
            consumed.dsn,
            broker.url,
            broker.namespace,
            SERVICE,
            UserCreated.TYPE,
            self.PREFETCH,
            self.ACKED,
            self.COMMITTED,
        ) as proc:
            await read_marker(proc, "READY")
            events = await producer.create_users(N)
            await producer.relay_all(broker.bus)
            await read_marker(proc, "STALLED")
            # Effects inside still-open transactions are invisible, then rolled back.
            assert sum((await consumed.applied()).values()) == self.ACKED + self.COMMITTED
            await sigkill(proc)

        await broker.consume(SERVICE, [UserCreated.TYPE], consumed.handle)
        await consumed.wait_handled(N - self.ACKED)

        assert consumed.redelivered == self.PREFETCH  # every unacked message came back
        assert consumed.skipped == self.COMMITTED  # committed before the kill: not reapplied
        await consumed.assert_applied_exactly_once(events)


class TestPoisonMessages:
    async def test_unparseable_body_goes_to_dead_letter_queue(self, consumed: Consumed, broker: Any) -> None:
        consumer = await broker.consume(SERVICE, [UserCreated.TYPE], consumed.handle)
        # A binding for a type no class declares any more (say, left by an older release).
        await consumer.queue.bind(broker.bus.topology.exchange, routing_key="identity.thing.vanished")
        poison = [
            OutgoingMessage(str(uuid4()), UserCreated.TYPE, b"{not json"),
            OutgoingMessage(str(uuid4()), UserCreated.TYPE, b'{"user_id": "nope"}'),
            OutgoingMessage(str(uuid4()), "identity.thing.vanished", b"{}"),
        ]
        for message in poison:
            await broker.bus.publish(message)
        good = UserCreated(user_id=uuid4(), name="good")
        await broker.bus.publish_event(good)

        dead: list[AbstractIncomingMessage] = []

        async def all_dead() -> bool:
            dead.extend(await broker.drain_dead_letters(SERVICE))
            return len(dead) >= len(poison)

        await wait_for(all_dead)
        await consumed.wait_handled(1)

        assert {m.message_id: m.body for m in dead} == {m.event_id: m.body for m in poison}
        # Rejected at once, not retried up to the delivery limit.
        assert {m.headers["x-first-death-reason"] for m in dead} == {"rejected"}
        assert consumed.deliveries == Counter([good.event_id])
        await consumed.assert_applied_exactly_once([good])

    async def test_failing_handler_is_dead_lettered_after_delivery_limit(
        self, consumed: Consumed, broker: Any
    ) -> None:
        attempts: Counter[UUID] = Counter()

        async def handler(event: Event, message: AbstractIncomingMessage) -> None:
            if isinstance(event, UserCreated) and event.name == "explodes":
                attempts[event.event_id] += 1
                raise RuntimeError("a handler bug")
            await consumed.handle(event, message)

        await broker.consume(SERVICE, [UserCreated.TYPE], handler)
        bad = UserCreated(user_id=uuid4(), name="explodes")
        good = UserCreated(user_id=uuid4(), name="fine")
        await broker.bus.publish_event(bad)
        await broker.bus.publish_event(good)

        dead: list[AbstractIncomingMessage] = []

        async def dead_lettered() -> bool:
            dead.extend(await broker.drain_dead_letters(SERVICE))
            return bool(dead)

        # Backoff is 0.2 s x attempt, so about 4-6 s in all.
        await wait_for(dead_lettered, timeout=30)
        await consumed.wait_handled(1)

        assert [m.message_id for m in dead] == [str(bad.event_id)]
        assert dead[0].headers["x-first-death-reason"] == "delivery_limit"
        # The first delivery plus DELIVERY_LIMIT redeliveries (RabbitMQ 3.x semantics).
        assert attempts == Counter({bad.event_id: DELIVERY_LIMIT + 1})
        await consumed.assert_applied_exactly_once([good])


class TestUnroutable:
    async def test_publish_with_no_binding_raises(self, consumed: Consumed, broker: Any) -> None:
        await broker.consume(SERVICE, [UserCreated.TYPE], consumed.handle)
        with pytest.raises(Unroutable):
            await broker.bus.publish_event(GroupDeleted(group_id=uuid4()))

    async def test_relay_marks_unrouted_rows_published(
        self, producer: Producer, consumed: Consumed, broker: Any
    ) -> None:
        await broker.consume(SERVICE, [UserCreated.TYPE], consumed.handle)
        orphan = GroupDeleted(group_id=uuid4())
        user = await producer.create_user("with orphan", orphan)

        await producer.relay_all(broker.bus)
        await consumed.wait_handled(1)

        rows = {
            r["event_id"]: (r["published_at"] is not None, r["unrouted"], r["locked_until"])
            for r in await producer.outbox_rows()
        }
        assert rows == {user.event_id: (True, False, None), orphan.event_id: (True, True, None)}
        relay = outbox.Relay(producer.pool, broker.bus, producer.dsn, lease_seconds=0.1)
        assert await relay.publish_batch() == 0  # never retried
        assert consumed.deliveries == Counter([user.event_id])
