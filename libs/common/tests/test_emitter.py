"""``outbox.Emitter``: a service's one way to emit, stamping itself as the producer."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import orjson

from hspm.common import outbox
from hspm.common.events import parse
from hspm.common.events.identity import UserCreated


class RecordingConn:
    """Stands in for a connection: keeps each statement and its arguments."""

    def __init__(self) -> None:
        self.executed: list[tuple[str, tuple[Any, ...]]] = []

    async def execute(self, query: str, *args: Any) -> str:
        self.executed.append((query, args))
        return "OK"

    def queued(self) -> list[UserCreated]:
        """The events the statements put in the outbox, parsed back from their rows."""
        return [
            UserCreated.model_validate_json(args[2])
            for query, args in self.executed
            if "INSERT INTO outbox" in query
        ]


def _event(**fields: Any) -> UserCreated:
    return UserCreated(user_id=uuid4(), name="Ada", **fields)


class TestEmitter:
    async def test_the_queued_event_names_the_producer(self) -> None:
        conn, event = RecordingConn(), _event()
        await outbox.Emitter("identity")(conn, event)  # type: ignore[arg-type]
        [queued] = conn.queued()
        assert queued.producer == "identity"
        # Everything else is the caller's event, unchanged.
        assert queued.model_dump(exclude={"producer"}) == event.model_dump(exclude={"producer"})

    async def test_the_callers_event_is_left_as_it_was(self) -> None:
        conn, event = RecordingConn(), _event()
        await outbox.Emitter("identity")(conn, event)  # type: ignore[arg-type]
        assert event.producer == ""

    async def test_the_service_stamps_itself_over_any_earlier_producer(self) -> None:
        conn = RecordingConn()
        await outbox.Emitter("catalog")(conn, _event(producer="someone-else"))  # type: ignore[arg-type]
        assert [e.producer for e in conn.queued()] == ["catalog"]

    async def test_rows_are_queued_under_the_events_type_and_id(self) -> None:
        conn, event = RecordingConn(), _event()
        await outbox.Emitter("identity")(conn, event)  # type: ignore[arg-type]
        [(_, (event_id, event_type, body, _headers))] = [
            (q, a) for q, a in conn.executed if "INSERT INTO outbox" in q
        ]
        assert (event_id, event_type) == (event.event_id, UserCreated.TYPE)
        assert parse(event_type, body).producer == "identity"
        # The relay is woken in the same transaction.
        assert any("pg_notify" in q for q, _ in conn.executed)

    async def test_each_emitter_keeps_its_own_producer(self) -> None:
        conn = RecordingConn()
        await outbox.Emitter("identity")(conn, _event())  # type: ignore[arg-type]
        await outbox.Emitter("curation")(conn, _event())  # type: ignore[arg-type]
        assert [e.producer for e in conn.queued()] == ["identity", "curation"]


class TestEmitterOnADatabase:
    async def test_the_outbox_row_carries_the_producer(self, fresh_db: str, migrated_pool: Any) -> None:
        pool = await migrated_pool(fresh_db)
        try:
            event = _event()
            async with pool.acquire() as conn, conn.transaction():
                await outbox.Emitter("identity")(conn, event)
            row = await pool.fetchrow("SELECT event_id, type, body FROM outbox")
        finally:
            await pool.close()
        assert (row["event_id"], row["type"]) == (event.event_id, UserCreated.TYPE)
        assert orjson.loads(row["body"])["producer"] == "identity"
