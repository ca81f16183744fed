"""``hspm_notifier_connections`` on the replica's own ``/metrics``: agents' and owners'
authenticated sockets, counted as they come and go.

The service is shared by the session, so sockets of earlier tests may still be closing:
every figure is read as a change from the one before, and waited for.
"""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from hspm.common.testing import wait_for

NAME = "hspm_notifier_connections"


async def connections(notifier: Any) -> dict[str, float]:
    """The gauge's value per kind, as Prometheus would scrape it."""
    reply = await notifier.client.get("/metrics")
    assert reply.status == 200
    text = await reply.text()
    return {
        sample.labels["kind"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == NAME
    }


async def settled(notifier: Any, expected: dict[str, float]) -> None:
    async def reached() -> bool:
        return await connections(notifier) == expected

    await wait_for(reached, timeout=10.0)


async def test_agent_and_owner_sockets_are_counted_while_open(notifier: Any) -> None:
    platform = await notifier.platform()
    await settled(notifier, {"agent": 0.0, "owner": 0.0})

    key_id, private = await notifier.key(platform["id"])
    agent, welcome = await notifier.authenticated(platform["id"], key_id, private)
    assert welcome["type"] == "welcome", welcome
    await settled(notifier, {"agent": 1.0, "owner": 0.0})

    owner = await notifier.client.ws_connect("/websocket", headers=notifier.ws_headers(notifier.customer))
    await owner.send_json({"type": "hello", "protocol": 1, "platform_id": platform["id"]})
    assert (await notifier.recv(owner))["type"] == "welcome"
    await settled(notifier, {"agent": 1.0, "owner": 1.0})

    await agent.close()
    await settled(notifier, {"agent": 0.0, "owner": 1.0})
    await owner.close()
    await settled(notifier, {"agent": 0.0, "owner": 0.0})


async def test_a_socket_that_never_authenticates_is_not_counted(notifier: Any) -> None:
    await settled(notifier, {"agent": 0.0, "owner": 0.0})
    anonymous = await notifier.client.ws_connect("/websocket")
    await anonymous.send_json({"type": "ping", "ref": "before-hello"})
    await notifier.recv(anonymous)  # answered (an error or a pong): the socket is open
    assert await connections(notifier) == {"agent": 0.0, "owner": 0.0}
    await anonymous.close()
