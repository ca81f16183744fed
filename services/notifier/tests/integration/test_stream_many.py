"""One notice to many platforms: one statement appends it, a few NOTIFYs wake every socket,
and each socket receives the frame the database rendered, in the protocol's shape."""

from __future__ import annotations

import asyncio
import json
from uuid import UUID, uuid4

from opentelemetry import context as otel_context

from hspm.common import tracing
from hspm.notifier.sockets import protocol
from hspm.notifier.stream import service as stream

PLATFORMS = 150  # more than one wake-up's worth


async def test_a_notice_to_many_platforms_reaches_every_socket_once_in_order(notifier) -> None:
    platforms = [await notifier.platform() for _ in range(PLATFORMS)]
    ids = [UUID(p["id"]) for p in platforms]
    sockets = [await notifier.subscribed(p) for p in platforms[:3] + platforms[-3:]]
    async with notifier.pool.acquire() as conn, conn.transaction():
        went = await stream.append_many(conn, ids, "build", "published", "m", {"build": {"id": "b"}})
    assert went == sorted(ids)
    for ws, first in sockets:
        frame = await notifier.recv(ws)
        while frame["type"] != "event" or frame["event_type"] != "published":
            frame = await notifier.recv(ws)
        assert frame["epoch"] == first["epoch"] and frame["model"] == {"build": {"id": "b"}}
        assert frame["seq"] == first["seq"] + 1
        await ws.close()


TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


async def test_the_rendered_frame_is_the_protocols_event(notifier) -> None:
    platform = await notifier.platform()
    pid = UUID(platform["id"])
    model = {"instance": {"id": "i", "n": 1, "ok": True, "none": None, "text": 'quote " and \\ é'}}
    async with notifier.pool.acquire() as conn, conn.transaction():
        await stream.append(conn, pid, "instance", "created", "Made.", model)
        # The next change is made within a trace: its frame carries it to the agent.
        token = otel_context.attach(tracing.extract({"traceparent": TRACEPARENT}))
        try:
            await stream.append(conn, pid, "instance", "updated", "Changed.", model)
        finally:
            otel_context.detach(token)
    async with notifier.pool.acquire() as conn:
        ((head, rows),) = await stream.read_many(conn, [(pid, 0, 10)])
        raws = await conn.fetch(
            "SELECT seq, resource_type, event_type, message, model, created_at, traceparent "
            "FROM stream_events WHERE platform_id = $1 ORDER BY seq",
            pid,
        )
    assert head is not None and len(rows) == 2
    rendered = [json.loads(row["frame"]) for row in rows]
    expected = [json.loads(protocol.dumps(protocol.event(head.epoch, raw))) for raw in raws]
    assert rendered == expected
    assert [frame["traceparent"] for frame in rendered] == [None, TRACEPARENT]


async def test_two_transactions_telling_overlapping_platforms_do_not_deadlock(notifier) -> None:
    ids = [UUID((await notifier.platform())["id"]) for _ in range(20)]

    async def tell(order: list[UUID]) -> None:
        for _ in range(10):
            async with notifier.pool.acquire() as conn, conn.transaction():
                await stream.append_many(conn, order, "build", "published", "m", {})

    await asyncio.gather(tell(ids), tell(list(reversed(ids))))
    async with notifier.pool.acquire() as conn:
        heads = await stream.heads(conn, ids)
    assert {h.head for h in heads.values()} == {20}


async def test_a_carried_frame_is_the_frame_read_back(notifier) -> None:
    """The frame a wake-up carries, its position spliced in, equals the frame read back."""
    pid = UUID((await notifier.platform())["id"])
    model = {"build": {"id": "b", "text": 'quote " and \\ é', "n": [1, 2.5, None, True]}}
    heard: asyncio.Queue[str] = asyncio.Queue()
    listener = await notifier.db()
    await listener.add_listener(stream.CHANNEL, lambda *args: heard.put_nowait(args[-1]))
    async with notifier.pool.acquire() as conn, conn.transaction():
        await stream.append_many(conn, [pid], "build", "published", "Out.", model)
    payload = await asyncio.wait_for(heard.get(), 30)
    assert payload.startswith("f:")
    carried = json.loads(payload[2:])
    ((platform, epoch, seq),) = carried["p"]
    async with notifier.pool.acquire() as conn:
        ((head, read),) = await stream.read_many(conn, [(pid, 0, 10)])
    assert platform == str(pid) and head is not None and (epoch, seq) == (head.epoch, head.head)
    assert json.loads(protocol.carried_event(epoch, seq, carried["b"])) == json.loads(read[0]["frame"])


def test_wake_ups_stay_under_the_payload_limit_and_name_every_platform() -> None:
    rows = [{"platform_id": uuid4(), "epoch": "0123456789abcdef", "seq": n} for n in range(1000)]
    body = '{"type" : "event", "model" : ' + json.dumps({"x": "y" * 1500}) + "}"
    payloads = stream.wake_payloads(body, rows)
    assert all(len(p.encode()) < 8000 for p in payloads) and len(payloads) > 1
    named = [e[0] for p in payloads for e in json.loads(p[2:])["p"]]
    assert named == [str(r["platform_id"]) for r in rows]
    big = '{"model" : "' + "z" * (stream.CARRY_BODY_BYTES + 1) + '"}'
    plain = stream.wake_payloads(big, rows)
    assert all(p.startswith("s:") and len(p.encode()) < 8000 for p in plain)
    assert sum(len(p[2:].split(",")) for p in plain) == 1000
