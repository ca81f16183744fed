"""One bounded soak: a private database and broker, a whole stack on them, flows running
continuously on several platforms while the rounds of faults go by; then the verdict."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import orjson

from hspm.common.testing import unique
from hspm.devstack.api import GatewayApi
from hspm.devstack.soak.chaos import RECOVERY_LIMIT, Chaos, Plan, Record, all_ready
from hspm.devstack.soak.infra import PrivatePostgres, PrivateRabbit, remove, sweep_sandboxes
from hspm.devstack.soak.lanes import Lane, Tally, open_lane, run_lane
from hspm.devstack.soak.verdict import Verdict, judge
from hspm.devstack.stack import Stack
from hspm.devstack.testing import start_stack

# An agent whose recall acknowledgement was lost with its socket hears the recall again
# at the notifier's next full state; the soak shortens that interval to keep flows short.
STACK_ENV = {"HSPM_RATE_LIMIT_PER_MINUTE": "60000", "HSPM_WS_STATE_SECONDS": "15"}
DRAIN_WAIT = 300.0  # flows in flight when the rounds end are given this long to finish


@dataclass
class Settings:
    rounds: int = 100
    flows: int = 3  # flows running at once, one per platform
    seed: int = 0
    step_wait: float = 240.0
    broker: int | None = None
    database: int | None = None
    agents: int | None = None
    keep: str = ""  # a folder to copy the logs and agents' state into before clean-up

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ

        def number(name: str) -> int | None:
            return int(env[name]) if env.get(name) else None

        return cls(
            rounds=number("SOAK_ROUNDS") or 100,
            flows=number("SOAK_FLOWS") or 3,
            seed=number("SOAK_SEED") or int(time.time()),
            broker=number("SOAK_BROKER_RESTARTS"),
            database=number("SOAK_DB_RESTARTS"),
            agents=number("SOAK_AGENT_DROPS"),
            keep=env.get("SOAK_KEEP", ""),
        )

    def plan(self) -> Plan:
        plan = Plan.default(self.rounds)
        plan.broker = plan.broker if self.broker is None else self.broker
        plan.database = plan.database if self.database is None else self.database
        plan.agents = plan.agents if self.agents is None else self.agents
        return plan


@dataclass
class Outcome:
    record: Record
    tally: Tally
    verdict: Verdict
    broker_restarts: int
    database_restarts: int
    seconds: float
    sandboxes_left: int = 0  # by validators killed mid-run; removed by the soak

    @property
    def problems(self) -> list[str]:
        return [*self.record.unrecovered, *self.verdict.problems]


async def soak(settings: Settings) -> Outcome:
    """Everything started here is stopped and removed here, on success, failure or Ctrl-C."""
    root = Path(tempfile.mkdtemp(prefix="hspm-soak-"))
    pg, rabbit = PrivatePostgres(root / "pg"), PrivateRabbit(root / "rabbit")
    stack: Stack | None = None
    lanes: list[Lane] = []
    try:
        await asyncio.to_thread(_start_infrastructure, pg, rabbit)
        stack = await start_stack(root / "stack", unique("soak"), f"{pg.url}/postgres", rabbit.url, STACK_ENV)
        return await _run(stack, pg, rabbit, lanes, settings, root)
    finally:
        for lane in lanes:
            if lane.task is not None:
                lane.task.cancel()
            if lane.platform.agent is not None:
                await asyncio.to_thread(lane.platform.agent.stop)
        if stack is not None:
            await stack.stop()
        await asyncio.to_thread(sweep_sandboxes, root)
        await asyncio.to_thread(rabbit.stop)
        await asyncio.to_thread(pg.stop)
        if settings.keep:
            keep_logs(root, Path(settings.keep))
        remove(root)


def keep_logs(root: Path, to: Path) -> None:
    """The services' logs and each agent's folder (log, state file), for a look afterwards."""
    for part in ("stack/logs", "agents"):
        if (root / part).exists():
            shutil.copytree(root / part, to / part, dirs_exist_ok=True)
    print(f"soak: logs kept in {to}", flush=True)


def _start_infrastructure(pg: PrivatePostgres, rabbit: PrivateRabbit) -> None:
    pg.init()
    pg.start()
    rabbit.init()
    rabbit.start()


async def _run(
    stack: Stack,
    pg: PrivatePostgres,
    rabbit: PrivateRabbit,
    lanes: list[Lane],
    settings: Settings,
    root: Path,
) -> Outcome:
    started = time.monotonic()
    tokens = orjson.loads((stack.config.state_dir / "dev-tokens.json").read_bytes())
    registry = (stack.registry.url, stack.config.registry_host)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        api = GatewayApi(http, stack.config.gateway_url, tokens)
        lanes.extend([await open_lane(api, root / "agents", n) for n in range(settings.flows)])
        stop, tally = asyncio.Event(), Tally()
        for lane in lanes:
            lane.task = asyncio.create_task(run_lane(api, lane, registry, stop, tally, settings.step_wait))
        record = await Chaos(stack, pg, rabbit, lanes, settings.seed).run(settings.plan())
        stop.set()
        await asyncio.wait([lane.task for lane in lanes if lane.task], timeout=DRAIN_WAIT)
        if await all_ready(stack, RECOVERY_LIMIT) is None:
            record.unrecovered.append("services not all ready at the end")
        verdict = await judge(api, tally, lanes, rabbit, stack.config)
    outcome = Outcome(record, tally, verdict, rabbit.restarts, pg.restarts, time.monotonic() - started)
    outcome.sandboxes_left = await asyncio.to_thread(sweep_sandboxes, root)
    return outcome


def report(outcome: Outcome, settings: Settings) -> str:
    r, t = outcome.record, outcome.tally
    # An outage includes the broker's or the database's own start; recovery is the services'.
    recoveries = {k: v for k, v in r.recovery.items() if not k.endswith("outage")}
    worst = max(recoveries.items(), key=lambda kv: kv[1], default=("none", 0.0))
    lines = [
        f"soak: seed {settings.seed}, {outcome.seconds:.0f}s",
        f"rounds: {r.rounds}",
        "kills: " + ", ".join(f"{k} {n}" for k, n in sorted(r.kills.items())),
        f"broker restarts: {outcome.broker_restarts}, database restarts: {outcome.database_restarts}",
        f"flows: started {len(t.started)}, completed {len(t.completed)}, lost {len(t.failed)}",
        f"instances rolled out again with new inputs: {outcome.verdict.regenerated}",
        f"validator sandboxes left running by killed validators (removed): {outcome.sandboxes_left}",
        "dead letters: " + ", ".join(f"{q} {n}" for q, n in outcome.verdict.dead_letters.items()),
        "recovery (worst seconds): " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(r.recovery.items())),
        f"worst recovery: {worst[0]} {worst[1]:.2f}s",
        f"problems: {len(outcome.problems)}",
        *(f"  - {p}" for p in outcome.problems),
    ]
    return "\n".join(lines)
