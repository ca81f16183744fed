"""Tests leave nothing behind on the broker.

Every test namespace is made here and dropped when the run ends: its queues (quorum queues
outlive their consumers), dead-letter queues and exchanges. A broker that collects
thousands of leftover quorum queues from earlier runs slows to a crawl and makes later runs
hang, so the leftovers are a correctness problem, not tidiness.

AMQP cannot list queues, so names come from two places: ``rabbitmqctl`` when the broker
is on this machine, and the names every namespace is known to use (``Topology``) for
services of this project.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import shutil
import subprocess
from collections.abc import Collection, Iterable

import aio_pika

from hspm.common.bus import Topology
from hspm.common.testing import unique

log = logging.getLogger(__name__)

# Queues a namespace has even when rabbitmqctl is not at hand (a broker in a container).
KNOWN_SERVICES = ("catalog", "curation", "validator", "identity", "gateway", "licensing", "notifier")
# Test namespaces are ``<prefix>_<10 hex digits>``; the devstack's ``hspm`` is never one.
STALE = re.compile(r"^[a-z][a-z_]*_[0-9a-f]{10}\.")
_LIST_TIMEOUT = 60.0

_made: set[str] = set()


def namespace(prefix: str) -> str:
    """A new AMQP namespace for a test, dropped at the end of the run."""
    name = unique(prefix)
    _made.add(name)
    return name


def made() -> frozenset[str]:
    """The namespaces handed out in this run so far."""
    return frozenset(_made)


def _ctl_rows(kind: str, *columns: str) -> list[list[str]]:
    """Rows of ``rabbitmqctl list_<kind>``, when ``rabbitmqctl`` is here."""
    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        return []
    try:
        out = subprocess.run(  # noqa: S603 (a fixed argv, no shell)
            [ctl, "list_" + kind, "-q", "--no-table-headers", *columns],
            capture_output=True,
            text=True,
            timeout=_LIST_TIMEOUT,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.split("\t") for line in out.splitlines() if line.strip()]


def listed(kind: str) -> list[str]:
    """Names of the broker's ``queues`` or ``exchanges``, when ``rabbitmqctl`` is here."""
    return [row[0].strip() for row in _ctl_rows(kind, "name")]


def consumed(rows: Iterable[list[str]]) -> set[str]:
    """Namespaces with a consumer on any of their queues (rows of name, consumers)."""
    return {row[0].split(".", 1)[0] for row in rows if len(row) > 1 and row[1].strip() not in ("", "0")}


def names_in(
    namespaces: Collection[str], queues: Iterable[str], exchanges: Iterable[str]
) -> tuple[set[str], set[str]]:
    """The queues and exchanges of ``namespaces``: the listed ones plus the known ones."""
    ours = set(namespaces)
    q = {n for n in queues if n.split(".", 1)[0] in ours}
    x = {n for n in exchanges if n.split(".", 1)[0] in ours}
    for ns in ours:
        topo = Topology(ns)
        x |= {topo.exchange, topo.dead_letter_exchange}
        for service in KNOWN_SERVICES:
            q |= {topo.queue(service), topo.dead_letter_queue(service)}
    return q, x


def stale(queues: Iterable[str], exchanges: Iterable[str]) -> set[str]:
    """Namespaces of test runs that ended without dropping theirs (killed, timed out)."""
    return {n.split(".", 1)[0] for n in (*queues, *exchanges) if STALE.match(n)}


async def drop(url: str, queues: Iterable[str], exchanges: Iterable[str]) -> int:
    """Delete the queues and exchanges; returns how many deletions the broker accepted."""
    dropped = 0
    connection = await aio_pika.connect(url, timeout=10)
    async with connection:
        channel = await connection.channel()
        for kind, names in (("queue", sorted(queues)), ("exchange", sorted(exchanges))):
            for name in names:
                try:
                    if kind == "queue":
                        await channel.queue_delete(name)
                    else:
                        await channel.exchange_delete(name)
                    dropped += 1
                except aio_pika.exceptions.AMQPError:
                    # A refused delete closes the channel; the rest still get theirs.
                    with contextlib.suppress(aio_pika.exceptions.AMQPError):
                        await channel.close()
                    channel = await connection.channel()
    return dropped


async def _listing() -> tuple[list[str], list[str]]:
    return await asyncio.to_thread(lambda: (listed("queues"), listed("exchanges")))


async def drop_namespaces(url: str, namespaces: Collection[str]) -> int:
    """Drop everything of ``namespaces`` on the broker at ``url``."""
    if not namespaces:
        return 0
    q, x = names_in(namespaces, *await _listing())
    return await drop(url, q, x)


async def drop_stale(url: str) -> int:
    """Drop what earlier, interrupted test runs left.

    A namespace with a consumer on any queue belongs to a run still going (a test, a
    benchmark's stack) and is kept; so is everything of a namespace made in this run.
    """
    rows = await asyncio.to_thread(_ctl_rows, "queues", "name", "consumers")
    queues = [row[0].strip() for row in rows]
    exchanges = await asyncio.to_thread(listed, "exchanges")
    gone = stale(queues, exchanges) - consumed(rows) - made()
    q, x = names_in(gone, queues, exchanges)
    return await drop(url, q, x)


async def check(url: str, timeout: float = 30.0) -> None:
    """Raise ``TimeoutError`` unless the broker declares and deletes a quorum queue in time.

    A bogged broker otherwise makes every test wait out its own time-out, one by one.
    """

    async def probe() -> None:
        connection = await aio_pika.connect(url, timeout=timeout)
        async with connection:
            channel = await connection.channel()
            name = unique("probe")
            await channel.declare_queue(name, durable=True, arguments={"x-queue-type": "quorum"})
            await channel.queue_delete(name)

    await asyncio.wait_for(probe(), timeout)


def main() -> None:
    """``python -m hspm.common.testing.broker [URL]``: drop every stale test namespace."""
    import sys

    url = sys.argv[1] if len(sys.argv) > 1 else "amqp://guest:guest@127.0.0.1:5672/"
    dropped = asyncio.run(drop_stale(url))
    sys.stdout.write(f"dropped {dropped} queues and exchanges of stale test namespaces\n")


if __name__ == "__main__":
    main()
