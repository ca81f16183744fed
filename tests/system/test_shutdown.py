"""Every service, sent SIGTERM under load, exits by itself within the grace period, and no
accepted request is lost.

"Accepted" is judged by the server itself: each request it handled is one ``http.request``
log line. Every such line must match a response the client actually received, and every
response must be a success; a connection refused or reset before the server read the
request was never accepted.

"Within the grace period" is read from the exit status, not a stopwatch: the process is
stopped as ``docker stop`` and the devstack stop it (SIGTERM, then SIGKILL once the 10 s
grace period is over, ``Stack.terminate``), and must have exited 0 on its own rather than
been killed. How long a shutdown takes is a figure for bench/.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import aiohttp
import orjson
import pytest
import pytest_asyncio

from hspm.common.auth import sign_assertion
from hspm.common.testing import unique, user, wait_for
from hspm.devstack.stack import Stack
from hspm.devstack.testing import drop_stack_state, start_stack

# Only what these tests stop and call: identity, and the gateway in front of it.
PARTS = ("identity", "gateway")
CONCURRENCY = 24
# Successful responses before SIGTERM: the load is really running when the signal comes.
WARM_UP = 50


@pytest_asyncio.fixture(scope="module")
async def doomed_stack(
    tmp_path_factory: pytest.TempPathFactory, pg_dsn: str, amqp_url: str
) -> AsyncIterator[Stack]:
    """A stack of its own: these tests stop its processes."""
    # One client makes all the load: the per-client rate limit would answer 429.
    limits = {"HSPM_RATE_LIMIT_PER_MINUTE": "100000000", "HSPM_RATE_LIMIT_BURST": "100000"}
    running = await start_stack(
        tmp_path_factory.mktemp("doomed"), unique("shut"), pg_dsn, amqp_url, limits, parts=PARTS
    )
    yield running
    await running.stop()
    await drop_stack_state(running.config)


async def _load(url: str, headers: dict[str, str], stop: asyncio.Event, outcomes: Counter[str]) -> None:
    """Requests from CONCURRENCY workers until ``stop``; each outcome counted as it happens."""
    # A fresh connection per request: a keep-alive socket closed by the server while idle
    # would look like a lost request when nothing was sent on it.
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=15)) as http:

        async def worker() -> None:
            while not stop.is_set():
                try:
                    async with http.get(url, headers=headers) as resp:
                        await resp.read()
                        outcomes[str(resp.status)] += 1
                except aiohttp.ClientConnectorError:
                    outcomes["refused"] += 1
                    await asyncio.sleep(0.01)
                except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
                    outcomes["reset"] += 1

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))


def _served(log_text: str, route: str) -> Counter[int]:
    served: Counter[int] = Counter()
    for line in log_text.splitlines():
        if line.startswith("{") and '"http.request"' in line:
            entry = orjson.loads(line)
            if entry.get("route") == route:
                served[entry["status"]] += 1
    return served


async def _sigterm_under_load(stack: Stack, name: str, url: str, headers: dict[str, str], route: str) -> None:
    log_file = stack.config.state_dir / "logs" / f"{name}.log"
    log_before = log_file.read_text()
    stop = asyncio.Event()
    outcomes: Counter[str] = Counter()
    load = asyncio.create_task(_load(url, headers, stop, outcomes))

    async def warmed_up() -> bool:
        return outcomes["200"] >= WARM_UP

    await wait_for(warmed_up, timeout=60)
    code = await stack.terminate(name)
    refused_at_exit = outcomes["refused"]

    async def port_closed() -> bool:
        return outcomes["refused"] > refused_at_exit

    # The load runs on until it finds the port closed: nothing more can be accepted.
    await wait_for(port_closed, timeout=30)
    stop.set()
    await load
    served = _served(log_file.read_text()[len(log_before) :], route)

    assert code == 0, f"{name} exited with {code} (-9: still running when the grace period ended)"
    assert outcomes["200"] >= WARM_UP, outcomes
    assert set(outcomes) <= {"200", "refused", "reset"}, outcomes
    assert set(served) == {200}, served
    assert served[200] == outcomes["200"], (served, outcomes)


class TestGracefulShutdown:
    async def test_identity(self, doomed_stack: Stack) -> None:
        secret = doomed_stack.internal_secret
        headers = {
            "X-HSPM-Principal": sign_assertion(user(["users.read"]), secret, ttl=120, audience="identity")
        }
        url = f"http://127.0.0.1:{doomed_stack.config.ports['identity']}/status"
        await _sigterm_under_load(doomed_stack, "identity", url, headers, "/status")

    async def test_gateway(self, doomed_stack: Stack) -> None:
        # Identity was stopped by the previous test; bring the stack back first.
        await doomed_stack.stop()
        await doomed_stack.start(parts=PARTS)
        url = f"{doomed_stack.config.gateway_url}/status"
        await _sigterm_under_load(doomed_stack, "gateway", url, {}, "/status")
