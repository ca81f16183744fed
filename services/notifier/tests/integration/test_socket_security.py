"""Who may open a platform's stream: its keys (by challenge) or its owner's token, nobody else."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from hspm.common.auth import PRINCIPAL_HEADER
from hspm.common.testing import wait_for


async def hello(notifier, ws, platform_id: object, key_id: object | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "hello", "protocol": 1, "platform_id": str(platform_id)}
    if key_id is not None:
        frame["key_id"] = str(key_id)
    await ws.send_json(frame)
    return await notifier.recv(ws)


async def test_a_key_of_the_platform_connects_and_subscribes(notifier) -> None:
    platform = await notifier.platform()
    key_id, private = await notifier.key(platform["id"])
    ws, welcome = await notifier.authenticated(platform["id"], key_id, private)
    assert welcome["type"] == "welcome" and welcome["platform_id"] == platform["id"]
    await ws.send_json({"type": "subscribe", "platform_id": platform["id"]})
    resync = await notifier.recv(ws)
    assert resync["type"] == "resync" and resync["seq"] == 0 and resync["instances"] == []
    await notifier.append(platform["id"])
    event = await notifier.recv(ws)
    assert (event["type"], event["seq"], event["epoch"]) == ("event", 1, resync["epoch"])
    await ws.close()


async def test_another_platforms_key_can_neither_connect_as_nor_subscribe_to_it(notifier) -> None:
    mine, theirs = await notifier.platform(), await notifier.platform(notifier.other_customer)
    their_key, their_private = await notifier.key(theirs["id"], notifier.other_customer)
    my_key, my_private = await notifier.key(mine["id"])

    # Their key, claimed for my platform: the challenge is answered, the proof fails.
    ws, answer = await notifier.authenticated(mine["id"], their_key, their_private)
    assert answer == {"type": "error", "code": "unauthenticated", "detail": answer["detail"]}
    assert await notifier.closed(ws) == 4401

    # My key signing as my platform, then asking for theirs: refused, nothing streamed.
    ws, welcome = await notifier.authenticated(mine["id"], my_key, my_private)
    assert welcome["type"] == "welcome"
    await ws.send_json({"type": "subscribe", "platform_id": theirs["id"]})
    refusal = await notifier.recv(ws)
    assert refusal["type"] == "error" and refusal["code"] == "forbidden"
    await notifier.append(theirs["id"], 3)
    await ws.send_json({"type": "ping", "ref": "p"})
    assert (await notifier.recv(ws))["type"] == "pong"  # and no event of theirs before it
    await ws.close()


async def test_a_wrong_signature_or_unknown_key_is_refused(notifier) -> None:
    platform = await notifier.platform()
    key_id, _ = await notifier.key(platform["id"])
    _, stranger = await notifier.key((await notifier.platform())["id"])
    ws, answer = await notifier.authenticated(platform["id"], key_id, stranger)
    assert answer["code"] == "unauthenticated" and await notifier.closed(ws) == 4401


async def test_a_revoked_key_is_cut_off_and_cannot_return(notifier) -> None:
    platform = await notifier.platform()
    key_id, private = await notifier.key(platform["id"])
    ws, _ = await notifier.authenticated(platform["id"], key_id, private)
    await ws.send_json({"type": "subscribe", "platform_id": platform["id"]})
    assert (await notifier.recv(ws))["type"] == "resync"
    revoked = await notifier.delete(f"/platforms/{platform['id']}/keys/{key_id}", notifier.customer)
    assert revoked.status == 200
    assert await notifier.closed(ws) == 4403
    again, answer = await notifier.authenticated(platform["id"], key_id, private)
    assert answer["code"] == "unauthenticated" and await notifier.closed(again) == 4401


async def test_deleting_the_platform_closes_its_sockets(notifier) -> None:
    platform = await notifier.platform()
    key_id, private = await notifier.key(platform["id"])
    ws, _ = await notifier.authenticated(platform["id"], key_id, private)
    assert (await notifier.delete(f"/platforms/{platform['id']}", notifier.customer)).status == 200
    assert await notifier.closed(ws) == 4410


async def test_nothing_flows_before_authentication_and_silence_is_closed(notifier) -> None:
    platform = await notifier.platform()
    await notifier.append(platform["id"], 2)
    ws = await notifier.client.ws_connect("/websocket")
    for frame in (
        {"type": "subscribe", "platform_id": platform["id"], "epoch": "x", "after": 0},
        {"type": "ack", "seq": 1},
        {"type": "authenticate", "signature": "AAAA"},
    ):
        await ws.send_json(frame)
        answer = await notifier.recv(ws)
        assert answer["type"] == "error" and answer["code"] == "out_of_order", answer
    assert await notifier.closed(ws) == 4408  # the authentication timeout


async def test_a_forged_principal_is_refused_at_the_upgrade(notifier) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await notifier.client.ws_connect("/websocket", headers={PRINCIPAL_HEADER: "forged"})
    assert refused.value.status == 401


async def test_the_owners_token_is_accepted_another_users_is_not(notifier) -> None:
    platform = await notifier.platform()
    ws = await notifier.client.ws_connect("/websockets", headers=notifier.ws_headers(notifier.customer))
    assert (await hello(notifier, ws, platform["id"]))["type"] == "welcome"
    await ws.close()
    for who in (notifier.other_customer, notifier.operator, None):
        ws = await notifier.client.ws_connect("/websocket", headers=notifier.ws_headers(who) if who else None)
        answer = await hello(notifier, ws, platform["id"])
        assert answer["code"] == "unauthenticated" and await notifier.closed(ws) == 4401


async def test_revocation_reaches_a_socket_even_without_the_wake_up(notifier) -> None:
    """The periodic key check: a revocation whose NOTIFY was never sent still ends the socket."""
    platform = await notifier.platform()
    key_id, private = await notifier.key(platform["id"])
    ws, _ = await notifier.authenticated(platform["id"], key_id, private)
    await (await notifier.db()).execute("UPDATE agent_keys SET revoked_at = now() WHERE id = $1", key_id)
    assert await notifier.closed(ws) == 4403
    await wait_for(lambda: _no_sessions(notifier), timeout=10.0)


async def _no_sessions(notifier) -> bool:
    from hspm.notifier.sockets.hub import hub_key

    return not notifier.client.app[hub_key].sessions()


async def test_the_subprotocol_is_selected_and_a_token_offered_beside_it_never_echoed(notifier) -> None:
    """A browser offers ``hspm.notifier.v1`` and its token as ``hspm.bearer.<token>`` (the
    gateway takes the latter off); the server selects the former, whatever else is offered,
    and a client offering none still connects."""
    platform = await notifier.platform()
    key_id, private = await notifier.key(platform["id"])
    offers = (["hspm.notifier.v1", "hspm.bearer.s3cret"], ["hspm.bearer.s3cret", "hspm.notifier.v1"])
    for protocols in offers:
        ws = await notifier.client.ws_connect("/websocket", protocols=protocols)
        assert ws.protocol == "hspm.notifier.v1"
        assert (await hello(notifier, ws, platform["id"], key_id))["type"] == "challenge"
        await ws.close()
    ws = await notifier.client.ws_connect("/websockets")
    assert ws.protocol is None
    await ws.close()
    ws, welcome = await notifier.authenticated(platform["id"], key_id, private)
    assert welcome["type"] == "welcome"
    await ws.close()
