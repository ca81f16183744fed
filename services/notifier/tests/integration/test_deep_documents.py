"""Reports the notifier could not store and push back (documents nested too deeply, text
with U+0000) are refused, on the socket and on REST alike, and change nothing; the socket
stays open."""

from __future__ import annotations

import json

import pytest


def _nested(levels: int) -> str:
    """JSON text of an object ``levels`` deep (written out: encoders stop before 1000 levels)."""
    return '{"a":' * (levels - 1) + '{"port":30080}' + "}" * (levels - 1)


@pytest.mark.parametrize("levels", [65, 300, 1000])
async def test_a_report_with_bindings_nested_too_deeply_is_invalid_and_changes_nothing(
    notifier, levels
) -> None:
    made, before, ws = await _instance_and_socket(notifier)
    head = {"type": "report", "ref": "deep", "instance_id": made.body["id"], "reported_state": "running"}
    await ws.send_str(json.dumps(head)[:-1] + ', "launch_bindings": ' + _nested(levels) + "}")
    await _refused_and_still_open(notifier, ws)
    rest = await notifier.patch(
        f"/instances/{made.body['id']}",
        notifier.customer,
        data='{"instance": {"launch_bindings": ' + _nested(levels) + "}}",
        headers={"Content-Type": "application/json"},
    )
    assert rest.status in (400, 422), rest
    assert (await notifier.get(f"/instances/{made.body['id']}", notifier.customer)).body == before


@pytest.mark.parametrize(
    "fields",
    [{"reported_state": "run\u0000ning"}, {"errors": ["a\u0000b"]}, {"launch_bindings": {"u\u0000rl": "x"}}],
)
async def test_a_report_with_a_nul_character_is_invalid_and_changes_nothing(notifier, fields) -> None:
    made, before, ws = await _instance_and_socket(notifier)
    await ws.send_json({"type": "report", "ref": "nul", "instance_id": made.body["id"], **fields})
    await _refused_and_still_open(notifier, ws)
    rest = await notifier.patch(f"/instances/{made.body['id']}", notifier.customer, {"instance": fields})
    assert rest.status == 422, rest
    assert (await notifier.get(f"/instances/{made.body['id']}", notifier.customer)).body == before


async def _refused_and_still_open(notifier, ws) -> None:
    """The frame was answered ``invalid``, and the socket still answers a ping."""
    answer = await notifier.not_a_heartbeat(ws)
    assert (answer["type"], answer["code"]) == ("error", "invalid"), answer
    await ws.send_json({"type": "ping", "ref": "still-here"})
    assert await notifier.not_a_heartbeat(ws) == {"type": "pong", "ref": "still-here"}
    await ws.close()


async def _instance_and_socket(notifier):
    """An instance of a published build on a new platform, as it is, and the platform's socket."""
    _, bid = await notifier.published_build()
    platform = await notifier.platform()
    made = await notifier.post(
        f"/platforms/{platform['id']}/instances", notifier.customer, {"instance": {"build_id": str(bid)}}
    )
    before = (await notifier.get(f"/instances/{made.body['id']}", notifier.customer)).body
    ws, _ = await notifier.subscribed(platform)
    return made, before, ws
