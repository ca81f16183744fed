"""The faults: a round kills one thing at a random moment and brings it back, as a
supervisor would (a service, the agent), or restarts the broker or the database under
everything. What comes back by itself, and how fast, is recorded; nothing waits for a human.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from dataclasses import dataclass, field

import aiohttp

from hspm.devstack.soak.infra import PrivatePostgres, PrivateRabbit
from hspm.devstack.soak.lanes import Lane
from hspm.devstack.stack import SERVICES, Stack

RECOVERY_LIMIT = 90.0  # a bound for "came back by itself"; the times are printed, not judged
MAX_DELAY = 1.5  # a kill lands at a random moment within this many seconds of a round's start
BROKER, DATABASE, AGENT = "rabbitmq", "postgresql", "agent"


@dataclass
class Plan:
    """Which rounds restart the broker, the database or drop an agent; the rest kill a service."""

    rounds: int
    broker: int
    database: int
    agents: int

    @classmethod
    def default(cls, rounds: int) -> Plan:
        return cls(rounds, max(1, rounds // 25), rounds // 25, max(1, rounds // 10) if rounds >= 3 else 0)

    def actions(self, rng: random.Random) -> list[str]:
        special = [BROKER] * self.broker + [DATABASE] * self.database + [AGENT] * self.agents
        services = max(0, self.rounds - len(special))
        names = [s.name for s in SERVICES]
        chosen = special + [rng.choice(names) for _ in range(services)]
        rng.shuffle(chosen)
        return chosen[: self.rounds]


@dataclass
class Record:
    rounds: int = 0
    kills: Counter[str] = field(default_factory=Counter)
    recovery: dict[str, float] = field(default_factory=dict)  # the worst seconds per thing restarted
    unrecovered: list[str] = field(default_factory=list)

    def recovered(self, what: str, seconds: float) -> None:
        self.recovery[what] = max(seconds, self.recovery.get(what, 0.0))


async def all_ready(stack: Stack, limit: float) -> float | None:
    """Seconds until every service answers ``/readyz`` with 200; None if not within ``limit``."""
    urls = [u for name, u in stack.readiness_urls().items() if name != "oidc"]
    started = time.monotonic()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
        while time.monotonic() - started < limit:
            answers = await asyncio.gather(*(_ready(http, u) for u in urls))
            if all(answers):
                return time.monotonic() - started
            await asyncio.sleep(0.1)
    return None


async def _ready(http: aiohttp.ClientSession, url: str) -> bool:
    with contextlib.suppress(aiohttp.ClientError, TimeoutError):
        async with http.get(url) as resp:
            return resp.status == 200
    return False


async def agent_connected(listen: str, limit: float) -> float | None:
    started = time.monotonic()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
        while time.monotonic() - started < limit:
            with contextlib.suppress(aiohttp.ClientError, TimeoutError, ValueError):
                async with http.get(f"http://{listen}/healthz") as resp:
                    if resp.status == 200 and (await resp.json()).get("connected"):
                        return time.monotonic() - started
            await asyncio.sleep(0.1)
    return None


class Chaos:
    def __init__(
        self, stack: Stack, pg: PrivatePostgres, rabbit: PrivateRabbit, lanes: list[Lane], seed: int
    ) -> None:
        self.stack, self.pg, self.rabbit, self.lanes = stack, pg, rabbit, lanes
        self.rng = random.Random(seed)
        self.record = Record()

    async def run(self, plan: Plan) -> Record:
        for number, action in enumerate(plan.actions(self.rng), 1):
            await asyncio.sleep(self.rng.uniform(0, MAX_DELAY))
            await self.fault(action)
            self.record.rounds = number
            print(f"round {number}/{plan.rounds}: {action}", flush=True)
        return self.record

    async def fault(self, action: str) -> None:
        if action == BROKER:
            await self.infrastructure(BROKER, self.rabbit.restart)
        elif action == DATABASE:
            await self.infrastructure(DATABASE, self.pg.restart)
        elif action == AGENT:
            await self.drop_agent()
        else:
            await self.kill_service(action)
        self.record.kills[action] += 1

    async def kill_service(self, name: str) -> None:
        await self.stack.kill(name)
        started = time.monotonic()
        try:
            await self.stack.restart(name, timeout=RECOVERY_LIMIT)
        except (TimeoutError, RuntimeError) as e:
            self.record.unrecovered.append(f"{name} did not answer ready after a restart: {e}")
            return
        self.record.recovered(name, time.monotonic() - started)

    async def infrastructure(self, what: str, restart: object) -> None:
        """Restart the broker or the database; the services must find it again by themselves."""
        down = time.monotonic()
        await asyncio.to_thread(restart)  # type: ignore[arg-type]
        seconds = await all_ready(self.stack, RECOVERY_LIMIT)
        if seconds is None:
            self.record.unrecovered.append(f"services not ready {RECOVERY_LIMIT:g}s after a {what} restart")
        else:
            self.record.recovered(f"services after {what}", seconds)
            self.record.recovered(f"{what} outage", time.monotonic() - down)

    async def drop_agent(self) -> None:
        """Kill one lane's agent mid-flow (its socket drops with it) and start it again."""
        lane = self.rng.choice(self.lanes)
        agent = lane.platform.agent
        assert agent is not None
        await asyncio.to_thread(agent.kill)
        agent.start()
        seconds = await agent_connected(agent.listen, RECOVERY_LIMIT)
        if seconds is None:
            self.record.unrecovered.append(f"agent of {lane.platform.name} did not reconnect")
        else:
            self.record.recovered(AGENT, seconds)
