"""Sockets opened on the platform owner's token (the gateway's principal assertion) are
re-checked while they live: closed when the platform is deleted or its user no longer
owns it, and at the latest when the assertion expires (a reconnect checks the token
again). A key's socket is unaffected by the owner's token."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from uuid import UUID

import jwt

from hspm.common.auth import PRINCIPAL_HEADER, sign_assertion
from hspm.common.testing import TEST_INTERNAL_SECRET


async def owner_socket(notifier, platform: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    """A socket past ``hello`` on the owner's assertion."""
    ws = await notifier.client.ws_connect(
        "/websocket", headers=headers or notifier.ws_headers(notifier.customer)
    )
    await ws.send_json({"type": "hello", "protocol": 1, "platform_id": platform["id"]})
    welcome = await notifier.recv(ws)
    assert welcome["type"] == "welcome", welcome
    return ws


async def test_a_user_who_no_longer_owns_the_platform_is_cut_off(notifier) -> None:
    platform = await notifier.platform()
    ws = await owner_socket(notifier, platform)
    await ws.send_json({"type": "subscribe", "platform_id": platform["id"]})
    assert (await notifier.recv(ws))["type"] == "resync"
    keyed, _ = await notifier.subscribed(platform)  # the platform's agent, on its key
    db = await notifier.db()
    new_owner = notifier.other_customer.user_id
    await db.execute("UPDATE platforms SET user_id = $1 WHERE id = $2", new_owner, UUID(platform["id"]))
    assert await notifier.closed(ws) == 4403
    await notifier.append(platform["id"])
    event = await notifier.recv(keyed)
    while event["type"] != "event":
        event = await notifier.recv(keyed)
    assert event["seq"] == 1  # the key's socket still streams
    await keyed.close()


async def test_a_deleted_platform_closes_the_owners_sockets_even_unannounced(notifier) -> None:
    announced, silent = await notifier.platform(), await notifier.platform()
    by_rest, by_sql = await owner_socket(notifier, announced), await owner_socket(notifier, silent)
    assert (await notifier.delete(f"/platforms/{announced['id']}", notifier.customer)).status == 200
    assert await notifier.closed(by_rest) == 4410
    # No NOTIFY and no subscription whose pump would notice: the periodic check does.
    await (await notifier.db()).execute("DELETE FROM platforms WHERE id = $1", UUID(silent["id"]))
    assert await notifier.closed(by_sql) == 4410


def short_assertion(notifier, seconds: int) -> tuple[dict[str, str], float]:
    """The owner's assertion, valid for ``seconds``; the headers and its expiry."""
    value = sign_assertion(notifier.customer, TEST_INTERNAL_SECRET, seconds, audience="notifier")
    expires = float(jwt.decode(value, options={"verify_signature": False})["exp"])
    return {PRINCIPAL_HEADER: value}, expires


async def test_the_socket_ends_when_the_assertion_it_was_opened_on_expires(notifier) -> None:
    platform = await notifier.platform()
    headers, expires = short_assertion(notifier, 3)
    ws = await owner_socket(notifier, platform, headers)
    await ws.send_json({"type": "subscribe", "platform_id": platform["id"]})
    assert (await notifier.recv(ws))["type"] == "resync"
    assert await notifier.closed(ws) == 4419
    assert time.time() >= expires  # closed because it expired, not before


async def test_an_assertion_expired_before_hello_is_refused(notifier) -> None:
    platform = await notifier.platform()
    headers, expires = short_assertion(notifier, 2)
    ws = await notifier.client.ws_connect("/websocket", headers=headers)
    await asyncio.sleep(max(0.0, expires - time.time()) + 0.1)  # until it has expired
    await ws.send_json({"type": "hello", "protocol": 1, "platform_id": platform["id"]})
    answer = await notifier.recv(ws)
    assert answer["code"] == "unauthenticated" and await notifier.closed(ws) == 4401
