"""The protocol's rules on a live socket: bad frames change nothing, back-pressure, resync
after lost history, reports and recall acknowledgements over the socket, the state check."""

from __future__ import annotations

import asyncio
import json
from uuid import UUID, uuid4

from hspm.client.agent import checksum
from hspm.common.events import curation
from hspm.common.testing import wait_for
from hspm.notifier.pruning import prune_once
from hspm.notifier.stream import service as stream


async def test_bad_frames_get_error_frames_and_change_nothing(notifier) -> None:
    platform = await notifier.platform()
    ws, first = await notifier.subscribed(platform)
    await notifier.append(platform["id"], 2)
    assert [(await notifier.recv(ws))["seq"] for _ in range(2)] == [1, 2]
    before = await notifier.stream(platform["id"])
    acked = "SELECT acked_seq FROM streams WHERE platform_id = $1"
    cases = [
        ("not json", "malformed"),
        ("[1, 2]", "malformed"),
        (json.dumps({"type": "launch"}), "unknown_type"),
        (json.dumps({"type": "ack"}), "invalid"),
        (json.dumps({"type": "ack", "seq": "2"}), "invalid"),
        (json.dumps({"type": "ack", "seq": 1, "extra": True}), "invalid"),
        (json.dumps({"type": "ping", "pad": "x" * 70_000}), "too_large"),
        (json.dumps({"type": "ack", "seq": 9}), "out_of_order"),  # beyond what was sent
        (json.dumps({"type": "hello", "protocol": 1, "platform_id": platform["id"]}), "out_of_order"),
        (json.dumps({"type": "subscribe", "platform_id": platform["id"]}), "out_of_order"),
        (json.dumps({"type": "report", "instance_id": str(uuid4()), "reported_state": "up"}), "not_found"),
        (json.dumps({"type": "report", "instance_id": str(uuid4()), "errors": "x"}), "invalid"),
        (json.dumps({"type": "recall_ack", "recall_id": str(uuid4())}), "not_found"),
    ]
    for text, code in cases:
        await ws.send_str(text)
        answer = await notifier.recv(ws)
        assert (answer["type"], answer["code"]) == ("error", code), (text[:60], answer)
    await ws.send_json({"type": "ack", "seq": 2})
    await ws.send_json({"type": "ack", "seq": 1})  # backwards, after a good one
    assert (await notifier.recv(ws))["code"] == "out_of_order"
    assert await notifier.stream(platform["id"]) == before
    # Acknowledgements are written in batches (sockets.batch.Latest), after the frame is
    # answered: the position reaches the table soon, not before the reply.
    db = await notifier.db()

    async def recorded() -> bool:
        return await db.fetchval(acked, UUID(platform["id"])) == 2

    await wait_for(recorded, timeout=10.0)
    await ws.send_json({"type": "ping", "ref": "still-here"})
    assert await notifier.recv(ws) == {"type": "pong", "ref": "still-here"}
    await ws.close()


async def test_unsupported_protocol_versions_are_refused(notifier) -> None:
    platform = await notifier.platform()
    ws = await notifier.client.ws_connect("/websocket")
    await ws.send_json(
        {"type": "hello", "protocol": 2, "platform_id": platform["id"], "key_id": str(uuid4())}
    )
    assert (await notifier.recv(ws))["code"] == "unsupported_protocol"
    await ws.close()


async def test_a_position_before_pruned_history_or_from_another_epoch_resyncs(notifier) -> None:
    platform = await notifier.platform()
    ws, first = await notifier.subscribed(platform)
    await notifier.append(platform["id"], 3)
    assert [(await notifier.recv(ws))["seq"] for _ in range(3)] == [1, 2, 3]
    await ws.close()
    ws, replay = await notifier.subscribed(platform, epoch=first["epoch"], after=1)
    assert replay == {"type": "subscribed", "epoch": first["epoch"], "after": 1, "head": 3}
    assert [(await notifier.recv(ws))["seq"] for _ in range(2)] == [2, 3]
    await ws.close()
    assert await prune_once(notifier.pool, 0, 100_000) == 1  # everything older than now
    ws, answer = await notifier.subscribed(platform, epoch=first["epoch"], after=1)
    assert (answer["type"], answer["reason"], answer["seq"]) == ("resync", "history pruned", 3)
    await ws.close()
    ws, answer = await notifier.subscribed(platform, epoch="another", after=3)
    assert (answer["type"], answer["reason"]) == ("resync", "epoch changed")
    await ws.close()


async def test_a_connected_agent_is_resynced_when_the_stream_is_reset(notifier) -> None:
    platform = await notifier.platform()
    ws, first = await notifier.subscribed(platform)
    async with notifier.pool.acquire() as conn, conn.transaction():
        epoch = await stream.reset(conn, UUID(platform["id"]))
    answer = await notifier.recv(ws)
    assert (answer["type"], answer["epoch"]) == ("resync", epoch)
    await ws.close()


async def test_reports_and_recall_acks_over_the_socket(notifier) -> None:
    pid, bid = await notifier.published_build()
    platform = await notifier.platform()
    made = await notifier.post(
        f"/platforms/{platform['id']}/instances", notifier.customer, {"instance": {"build_id": str(bid)}}
    )
    rid = uuid4()
    await notifier.deliver(
        curation.RecallIssued(
            recall_id=rid, product_id=pid, build_ids=[bid], versions="1", severity="high", reason="r"
        )
    )
    ws, full = await notifier.subscribed(platform)
    assert full["type"] == "resync" and full["seq"] == 2
    assert [i["id"] for i in full["instances"]] == [made.body["id"]]
    assert full["checksum"] == checksum(full["instances"])
    assert [r["recall_id"] for r in full["pending_recalls"]] == [str(rid)]
    report = {"type": "report", "ref": "r1", "instance_id": made.body["id"], "reported_state": "running",
              "launch_bindings": {"port": 30080}, "deployed_at": "2030-01-01T00:00:00Z"}  # fmt: skip
    await ws.send_json(report)
    # The reply and the stream's echo of the change travel independently: either may come first.
    answers = {f["type"]: f for f in [await notifier.not_a_heartbeat(ws) for _ in range(2)]}
    assert answers["reported"] == {"type": "reported", "instance_id": made.body["id"], "ref": "r1"}
    echoed = answers["event"]
    assert (echoed["event_type"], echoed["model"]["instance"]["launch_bindings"]) == (
        "updated",
        {"port": 30080},
    )
    await ws.send_json({"type": "recall_ack", "recall_id": str(rid), "ref": "a"})
    acked = await notifier.not_a_heartbeat(ws)
    assert acked["type"] == "recall_acked" and acked["acknowledged_at"]
    shown = await notifier.get(f"/instances/{made.body['id']}", notifier.customer)
    assert shown.body["reported_state"] == "running" and shown.body["deployed_at"].startswith("2030")
    pending = await notifier.get("/platforms/recalls?pending=true", notifier.operator)
    assert pending.body["results"] == []
    await ws.close()


# --- a service with small limits: back-pressure and the periodic state check -----------------


async def test_an_agent_that_does_not_ack_is_held_at_the_window_then_told_to_resync(tight) -> None:
    platform = await tight.platform()
    ws, _ = await tight.subscribed(platform)
    await tight.append(platform["id"], 5)
    assert [(await tight.recv(ws))["seq"] for _ in range(5)] == [1, 2, 3, 4, 5]
    await tight.append(platform["id"], 10)  # within the lag: held, nothing sent past the window
    beat = await tight.recv(ws)
    assert (beat["type"], beat["seq"]) == ("heartbeat", 15)
    await tight.append(platform["id"], 10)  # now 25 ahead of the last ack
    frames = []
    code = None
    while code is None:
        message = await asyncio.wait_for(ws.receive(), 10)
        if message.type.name == "CLOSE":
            code = message.data
        else:
            frames.append(json.loads(message.data))
    assert code == 4429
    assert frames[-1] == {"type": "resync_required", "reason": "too far behind"}
    assert all(f["type"] in ("heartbeat", "state") for f in frames[:-1])


async def test_the_full_state_is_checked_periodically_at_the_position_sent(tight) -> None:
    _, bid = await tight.published_build()
    platform = await tight.platform()
    made = await tight.post(
        f"/platforms/{platform['id']}/instances", tight.customer, {"instance": {"build_id": str(bid)}}
    )
    ws, full = await tight.subscribed(platform)
    await ws.send_json({"type": "ack", "seq": full["seq"]})
    state = await tight.recv(ws)
    while state["type"] != "state":
        state = await tight.recv(ws)
    assert state["seq"] == full["seq"] == 1
    assert (
        state["checksum"]
        == full["checksum"]
        == checksum(
            [
                {
                    "id": made.body["id"],
                    "build_id": str(bid),
                    "product_id": str(made.body["product_id"]),
                    "image": made.body["image"],
                    "desired_state": "running",
                }
            ]
        )
    )
    await ws.close()
