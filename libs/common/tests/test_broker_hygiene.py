"""Test runs leave no queues or exchanges behind on the broker."""

from __future__ import annotations

import aio_pika
import pytest

from hspm.common.bus import Topology
from hspm.common.testing import broker


def test_names_in_takes_the_listed_names_of_the_namespace_and_the_known_ones() -> None:
    queues = ["t_0123456789.catalog", "t_0123456789.validator-1a2b3c", "hspm.catalog", "t_9999999999.x"]
    q, x = broker.names_in({"t_0123456789"}, queues, ["t_0123456789.events", "hspm.events"])
    assert "t_0123456789.validator-1a2b3c" in q
    assert "t_0123456789.licensing.dlq" in q  # known even when rabbitmqctl listed nothing
    assert not {"hspm.catalog", "t_9999999999.x"} & q
    assert x == {"t_0123456789.events", "t_0123456789.dlx"}


def test_stale_finds_test_namespaces_and_never_the_devstack() -> None:
    names = [
        "hspm.catalog",
        "hspm.events",
        "hspm_sys_1255d0e758.catalog",
        "gw_e556e5a63c.events",
        "t_short.q",
    ]
    assert broker.stale(names, []) == {"hspm_sys_1255d0e758", "gw_e556e5a63c"}


def test_namespaces_being_consumed_are_in_use() -> None:
    """drop_stale keeps them: a benchmark's stack or another test run is still going."""
    rows = [["bench_0123456789.catalog", "1"], ["t_9999999999.catalog", "0"], ["gw_e556e5a63c.x", "2\n"]]
    assert broker.consumed(rows) == {"bench_0123456789", "gw_e556e5a63c"}
    assert broker.consumed([["t_9999999999.catalog"]]) == set()


def test_namespace_is_new_each_time_and_remembered() -> None:
    a, b = broker.namespace("t"), broker.namespace("t")
    assert a != b
    assert {a, b} <= broker.made()


async def _exists(connection: aio_pika.abc.AbstractConnection, kind: str, name: str) -> bool:
    channel = await connection.channel()
    try:
        if kind == "queue":
            await channel.declare_queue(name, passive=True)
        else:
            await channel.get_exchange(name, ensure=True)
    except aio_pika.exceptions.ChannelClosed:
        return False
    await channel.close()
    return True


@pytest.mark.parametrize("suffix", ["catalog", "validator-5f5f5f"])
async def test_drop_namespaces_removes_quorum_queues_dead_letters_and_exchanges(
    amqp_url: str, suffix: str
) -> None:
    ns = broker.namespace("t")
    topo = Topology(ns)
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        quorum = {"x-queue-type": "quorum"}
        await channel.declare_queue(topo.queue(suffix), durable=True, arguments=quorum)
        await channel.declare_queue(topo.dead_letter_queue(suffix), durable=True)
        await channel.declare_exchange(topo.exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        await channel.declare_exchange(topo.dead_letter_exchange, aio_pika.ExchangeType.FANOUT, durable=True)
        made = [("queue", topo.queue(suffix)), ("queue", topo.dead_letter_queue(suffix))]
        made += [("exchange", topo.exchange), ("exchange", topo.dead_letter_exchange)]
        assert all([await _exists(connection, k, n) for k, n in made])

        await broker.drop_namespaces(amqp_url, [ns])

        left = [(k, n) for k, n in made if await _exists(connection, k, n)]
    if suffix != "catalog" and broker.listed("queues") == [] and left:
        pytest.skip("rabbitmqctl is not here to list a queue of an unknown name")
    assert left == []


async def test_check_accepts_a_healthy_broker(amqp_url: str) -> None:
    await broker.check(amqp_url, timeout=30)
