"""The Platform Agent on this machine: an instance from creation to running, a recall to its
acknowledgement.

Everything is real: the stack's processes, ``hspm agent run`` as a process of its own
(podman driver, podman storage of its own, the "upgrade" policy for critical recalls, the
default resync period) and podman. First, not measured: an ISV's ``ROUNDS + 1`` builds
(each an image of its own) pushed, validated and approved, and a customer's platform
with two keys, the agent's and an observer's. Two figures, each the median and the max
of ``ROUNDS`` rounds, each beside a baseline measured in the same run:

1. **Instance created → container running → deployed_at**: from the customer's POST
   through the gateway until podman (asked every ``PODMAN_POLL`` s by this process, in the
   agent's storage) reports the instance's container running, and until
   ``GET /instances/{id}`` through the gateway shows ``deployed_at``. The baseline is the
   bare toolchain doing the same by hand, round by round in turn with the agent:
   ``podman run -d`` of the same image by digest with the flags the driver uses (its own
   ``options``, for the spec the agent builds from the same document), in storage of its
   own with the image pulled beforehand, until podman (asked the same way, from the
   start) reports it running, then until ``GET /health`` on its published port answers
   200 (the driver's health probe; the image declares no HEALTHCHECK). A warm-up round
   of each is not counted: the agent pulls the image and reads the build's document
   then. Each instance is destroyed after its round (not measured).
2. **Recall issued → acknowledged**: from the operator's ``POST /recalls`` through the
   gateway (critical, the fixed build the next version) until the notifier's list of
   recall acknowledgements (``GET /platforms/recalls?recall_id=...`` through the
   gateway) shows the platform's ``acknowledged_at``. Meanwhile the agent takes the
   notice in, rolls the instance out to the fixed build (pulling its image: every fix is
   a build it has not run), health-gated, and acknowledges. No bare tool does that; the
   baseline is the notifier's own part: from the same POST to the ``security_notice``
   frame's arrival on the observer's socket, subscribed to the same platform's stream
   through the gateway (it never acknowledges, so the platform's acknowledged position
   is the agent's alone). Each round recalls the build the one instance runs; the
   customer then moves the instance to the fixed build (not measured), so the next
   round has a build on offer to recall.

The agent's own log (JSON, millisecond timestamps) splits each round: when it started
the rollout, when the rollout was healthy, when it took the recall in and acknowledged
it. Errors (a round that times out, a report with errors, a frame not delivered, the
agent exiting non-zero) are counted in the rows and fail the bench.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import aiohttp
import orjson
from cryptography.hazmat.primitives.asymmetric import ed25519

from bench.table import Row
from hspm.client.agent import Agent
from hspm.client.platform_agent.config import AgentConfig, PodmanSettings
from hspm.client.platform_agent.desired import Inputs, InstanceSpec, instance_spec
from hspm.client.platform_agent.drivers.podman import LABEL, PodmanDriver, container_name
from hspm.common.testing import unique
from hspm.devstack.agent_fixtures import (
    AgentProcess,
    World,
    make_world,
    register_key,
    remove_podman_storage,
    sample,
)
from hspm.devstack.stack import Stack

ROUNDS = 5
WARMUP_ROUNDS = 1
REPLICAS = 1
# How often podman and the gateway are asked: the figures' resolution. A ``podman ps`` is a
# process of its own (tens of ms of CPU), so podman is asked less often.
PODMAN_POLL = 0.05
POLL = 0.02
WAIT = 60.0  # the bound on any one condition; a round that reaches it is an error
RESYNC_SECONDS = 60.0  # the agent's default periodic pass
BUDGET_SECONDS = 420.0  # the whole module, so a hung part fails the run instead of hanging it
STOP_TIMEOUT = 15  # the driver's default ``stop_timeout_seconds``
APP_MODE = "production"


def _line(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


class RoundFailed(Exception):
    """A round did not reach what it waits for, or reached it wrongly."""


# --- pure parts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogEvent:
    ts: float  # seconds since the epoch
    event: str
    fields: dict[str, Any]


def log_events(text: str) -> list[LogEvent]:
    """The agent's JSON log lines (``logs.JsonFormatter``); any other line is skipped."""
    found = []
    for line in text.splitlines():
        try:
            entry = orjson.loads(line)
            ts = datetime.fromisoformat(entry["ts"]).timestamp()
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            continue
        if isinstance(entry, dict) and isinstance(entry.get("event"), str):
            found.append(LogEvent(ts, entry["event"], entry))
    return found


def first_after(events: Sequence[LogEvent], event: str, since: float, **match: str) -> float | None:
    """Seconds from ``since`` to the first ``event`` at or after it whose fields equal ``match``."""
    for e in events:
        # Log times are cut to the millisecond.
        if (
            e.event == event
            and e.ts >= since - 0.001
            and all(str(e.fields.get(k)) == v for k, v in match.items())
        ):
            return e.ts - since
    return None


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def maximum(values: Sequence[float]) -> float:
    return max(values) if values else math.nan


def reason(exc: BaseException) -> str:
    """A short name for what failed (the first of a group)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}"[:160] if str(exc) else type(exc).__name__


def errors_text(counted: Counter[str]) -> str:
    return "; ".join(f"{why} ×{n}" for why, n in sorted(counted.items()))


# --- what is measured -------------------------------------------------------------------------


@dataclass
class Created:
    """Figure 1's rounds: seconds from the POST (or from ``podman run``, bare)."""

    bare_running: list[float] = field(default_factory=list)
    bare_healthy: list[float] = field(default_factory=list)
    running: list[float] = field(default_factory=list)
    deployed: list[float] = field(default_factory=list)
    warmup: list[tuple[float, float]] = field(default_factory=list)  # the agent's (running, deployed)
    # (wall clock at the POST, instance id) of each counted round, to read the agent's log by.
    marks: list[tuple[float, str]] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    bare_errors: Counter[str] = field(default_factory=Counter)


@dataclass
class Recalled:
    """Figure 2's rounds: seconds from the POST of the recall."""

    delivered: list[float] = field(default_factory=list)
    acknowledged: list[float] = field(default_factory=list)
    marks: list[tuple[float, str, str]] = field(default_factory=list)  # (wall clock, recall, instance)
    errors: Counter[str] = field(default_factory=Counter)


@dataclass
class Results:
    created: Created
    recalled: Recalled
    bare_argv: list[str]
    log: list[LogEvent]
    agent_exit: int | None


async def _until(
    probe: Callable[[], Awaitable[bool]], what: str, wait: float = WAIT, every: float = POLL
) -> float:
    """The monotonic time at which ``probe`` (asked every ``every`` s) first answered true."""
    deadline = time.monotonic() + wait
    while True:
        if await probe():
            return time.monotonic()
        if time.monotonic() > deadline:
            raise RoundFailed(f"{what} within {wait:g} s")
        await asyncio.sleep(every)


async def _both(a: Coroutine[Any, Any, float], b: Coroutine[Any, Any, float]) -> tuple[float, float]:
    """Two pollers at once; either failing cancels the other."""
    async with asyncio.TaskGroup() as tg:
        ta, tb = tg.create_task(a), tg.create_task(b)
    return ta.result(), tb.result()


def _alive(agent: AgentProcess) -> None:
    if agent.process is None or agent.process.poll() is not None:
        code = None if agent.process is None else agent.process.returncode
        raise RoundFailed(f"the agent exited ({code})")


async def _instance(w: World, instance_id: str) -> dict[str, Any]:
    found: dict[str, Any] = await w.api.ok("GET", f"/instances/{instance_id}", "customer")
    return found


async def _destroy(w: World, agent: AgentProcess, instance_id: str) -> None:
    await w.api.ok("DELETE", f"/instances/{instance_id}", "customer")

    async def gone() -> bool:
        _alive(agent)
        return not await agent.containers(instance_id)

    await _until(gone, "the destroyed instance's containers not removed", every=PODMAN_POLL)


async def _settled(
    w: World, agent: AgentProcess, instance_id: str, build_id: str, recall: str | None
) -> None:
    """Until the instance is reported running ``build_id``, under ``recall``'s override or none."""
    last: dict[str, Any] = {}

    async def probe() -> bool:
        _alive(agent)
        last.update(await _instance(w, instance_id))
        bindings = last.get("launch_bindings") or {}
        under = bindings.get("recall")
        overridden = under is None if recall is None else under is not None and recall in str(under)
        return (
            last.get("reported_state") == "running"
            and bindings.get("build_id") == build_id
            and bool(last.get("deployed_at"))
            and overridden
        )

    await _until(probe, f"never reported running build {build_id}")
    if last.get("errors"):
        raise RoundFailed(f"the instance reports errors: {last['errors'][0][:100]}")


async def _agent_round(w: World, agent: AgentProcess, build_id: str) -> tuple[float, float, float, str]:
    """One instance created: seconds to its container running and to ``deployed_at`` shown."""
    wall, t0 = time.time(), time.monotonic()
    made = await w.api.ok("POST", f"/platforms/{w.platform_id}/instances", "customer", {"build_id": build_id})
    instance_id = str(made["id"])
    shown: dict[str, Any] = {}

    async def running() -> bool:
        _alive(agent)
        found = await agent.containers(instance_id)
        return [c.get("State") for c in found].count("running") == REPLICAS

    async def deployed() -> bool:
        shown.update(await _instance(w, instance_id))
        return bool(shown.get("deployed_at")) and shown.get("reported_state") == "running"

    try:
        t_running, t_deployed = await _both(
            _until(running, "podman never reported the container running", every=PODMAN_POLL),
            _until(deployed, "deployed_at never shown"),
        )
        if shown.get("errors"):
            raise RoundFailed(f"the instance reports errors: {shown['errors'][0][:100]}")
        if (shown.get("launch_bindings") or {}).get("build_id") != build_id:
            raise RoundFailed("the instance runs another build")
    finally:
        await _destroy(w, agent, instance_id)
    return t_running - t0, t_deployed - t0, wall, instance_id


class Bare:
    """The bare toolchain: ``podman run -d`` by hand, the driver's global flags and options,
    in podman storage of its own."""

    def __init__(self, root: Path, registry_host: str, spec: InstanceSpec) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.runroot = Path(tempfile.mkdtemp(prefix="hspm-run-"))  # podman: 50 characters at most
        settings = PodmanSettings(
            root=str(root / "storage"), runroot=str(self.runroot), insecure_registries=[registry_host]
        )
        self.driver = PodmanDriver(AgentConfig(name=unique("bench-bare"), podman=settings))
        self.podman = self.driver.podman
        self.spec = spec
        self.env_file = root / "env"
        self.env_file.write_text("".join(f"{k}={v}\n" for k, v in spec.tasks[0].env))
        self.env_file.chmod(0o600)
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3))

    def argv(self, spec: InstanceSpec, replica: int) -> list[str]:
        task = spec.tasks[0]
        name = container_name(spec, task, replica)
        options = self.driver.options(spec, task, name, "service")
        return [
            *self.podman.base,
            "run",
            "--detach",
            "--pull",
            "never",
            *options,
            "--env-file",
            str(self.env_file),
            spec.image,
            *task.args,
        ]

    async def prepare(self) -> None:
        await self.podman.ensure_image(self.spec.image)

    async def round(self) -> tuple[float, float]:
        """Seconds from ``podman run`` to every replica running, and to ``/health`` answering.
        podman is asked from the start, as it is for the agent's rounds (its ``ps`` and
        ``run`` take the storage's lock in turn, here as there)."""
        spec = replace(self.spec, instance_id=f"bare-{uuid4()}")
        label = f"{LABEL}.instance={spec.instance_id}"
        found: list[dict[str, Any]] = []

        async def launch() -> float:
            for n in range(1, REPLICAS + 1):
                proc = await asyncio.create_subprocess_exec(
                    *self.argv(spec, n), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
                )
                _, err = await proc.communicate()
                if proc.returncode:
                    raise RoundFailed(f"podman run exited {proc.returncode}: {err.decode()[-200:]}")
            return time.monotonic()

        async def running() -> bool:
            found[:] = await self.podman.containers(label)
            return [c.get("State") for c in found].count("running") == REPLICAS

        t0 = time.monotonic()
        try:
            _, t_running = await _both(
                launch(), _until(running, "bare: podman never reported it running", every=PODMAN_POLL)
            )

            async def healthy() -> bool:
                for c in found:
                    p = (c.get("Ports") or [{}])[0]
                    try:
                        url = f"http://{p.get('host_ip') or '127.0.0.1'}:{p['host_port']}/health"
                        async with self.http.get(url) as resp:
                            if resp.status != 200:
                                return False
                    except (aiohttp.ClientError, TimeoutError, OSError, KeyError):
                        return False
                return True

            t_healthy = await _until(healthy, "bare: /health never answered 200")
        finally:
            await self.podman.remove(
                [c["Names"][0] for c in await self.podman.containers(label)], STOP_TIMEOUT
            )
        return t_running - t0, t_healthy - t0

    async def clean_up(self) -> None:
        await self.http.close()
        try:
            leftovers = await self.podman.containers(f"{LABEL}.agent={self.driver.config.name}")
            await self.podman.remove([c["Names"][0] for c in leftovers], 1)
        finally:
            await remove_podman_storage(self.root / "storage", self.runroot)


class Observer:
    """A second socket on the platform's stream (a key of its own): when each recall's
    ``security_notice`` frame arrives. It never acknowledges."""

    def __init__(self, w: World, key_id: str, key: ed25519.Ed25519PrivateKey) -> None:
        url = w.stack.config.gateway_url.replace("http://", "ws://", 1) + "/websocket"
        self.client = Agent([url], w.platform_id, key_id, key)
        self.seen: dict[str, float] = {}
        self.ready = asyncio.Event()
        self.changed = asyncio.Event()
        self.http = aiohttp.ClientSession()
        self.task = asyncio.create_task(self._run(), name="bench-observer")

    async def _run(self) -> None:
        async for item in self.client.items(self.http):
            arrived = time.monotonic()
            frame = item.frame
            if frame.get("resource_type") == "product" and frame.get("event_type") == "security_notice":
                recall_id = str(frame["model"]["recall"]["id"])
                self.seen.setdefault(recall_id, arrived)
                self.changed.set()
            self.ready.set()

    def _check(self) -> None:
        if self.task.done():
            raise RoundFailed(f"the observer stopped: {self.task.exception()!r}")

    async def wait_ready(self) -> None:
        async def ready() -> bool:
            self._check()
            return self.ready.is_set()

        await _until(ready, "the observer never subscribed")

    async def delivered(self, recall_id: str) -> float:
        deadline = time.monotonic() + WAIT
        while recall_id not in self.seen:
            self._check()
            self.changed.clear()
            try:
                async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                    await self.changed.wait()
            except TimeoutError:
                raise RoundFailed(f"no security_notice frame within {WAIT:g} s") from None
        return self.seen[recall_id]

    async def close(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.http.close()


async def _bare_spec(w: World, http: aiohttp.ClientSession, version: str) -> InstanceSpec:
    """The spec the agent builds for an instance of ``version``: its public document, the
    platform's value of APP_MODE and what the agent injects."""
    bid = w.builds[version]
    url = f"{w.stack.config.gateway_url}/products/{w.product_id}/builds/{bid}/marketplace.json"
    async with http.get(url) as resp:
        resp.raise_for_status()
        document = await resp.json(content_type=None)
    image = str(document["product"]["build"]["binary"]["image"])
    model = {
        "id": "bare",
        "platform": {"id": w.platform_id},
        "build": {"id": bid, "image": image, "version": version, "product": {"id": w.product_id}},
        "desired_state": "running",
    }
    injected = {
        "HSPM_MARKETPLACE_URL": w.stack.config.gateway_url,
        "HSPM_PLATFORM_ID": w.platform_id,
        "HSPM_INSTANCE_ID": "bare",
        "HSPM_PRODUCT_ID": w.product_id,
    }
    return instance_spec(model, document, Inputs(environment={"APP_MODE": APP_MODE}, injected=injected))


async def _agent_ready(agent: AgentProcess, http: aiohttp.ClientSession) -> None:
    async def connected() -> bool:
        _alive(agent)
        try:
            async with http.get(f"http://{agent.listen}/healthz") as resp:
                return resp.status == 200 and bool((await resp.json()).get("connected"))
        except (aiohttp.ClientError, OSError):
            return False

    await _until(connected, "the agent never connected")


async def _created(w: World, agent: AgentProcess, bare: Bare, version: str) -> Created:
    """Figure 1: the bare toolchain and the agent in turn, round by round."""
    c = Created()
    build_id = w.builds[version]
    for n in range(WARMUP_ROUNDS + ROUNDS):
        counted = n >= WARMUP_ROUNDS
        try:
            running, healthy = await bare.round()
            if counted:
                c.bare_running.append(running)
                c.bare_healthy.append(healthy)
        except Exception as exc:
            c.bare_errors[f"bare: {reason(exc)}"] += 1
            break
        try:
            running, deployed, wall, instance_id = await _agent_round(w, agent, build_id)
        except Exception as exc:
            c.errors[f"created: {reason(exc)}"] += 1
            break
        if counted:
            c.running.append(running)
            c.deployed.append(deployed)
            c.marks.append((wall, instance_id))
        else:
            c.warmup.append((running, deployed))
    return c


async def _recalled(w: World, agent: AgentProcess, observer: Observer, versions: Sequence[str]) -> Recalled:
    """Figure 2: one instance; each round recalls the build it runs, the fix the next one."""
    r = Recalled()
    first = w.builds[versions[0]]
    instance_id: str | None = None
    try:
        body = {"build_id": first}
        made = await w.api.ok("POST", f"/platforms/{w.platform_id}/instances", "customer", body)
        instance_id = str(made["id"])
        await _settled(w, agent, instance_id, first, None)
        for n in range(ROUNDS):
            recalled, fixed = w.builds[versions[n]], w.builds[versions[n + 1]]
            recall = {
                "product_id": w.product_id,
                "build_ids": [recalled],
                "severity": "critical",
                "reason": "Bench: wrong dose rounding under load.",
                "fixed_build_id": fixed,
            }
            wall, t0 = time.time(), time.monotonic()
            issued = await w.api.ok("POST", "/recalls", "operator", recall)
            recall_id = str(issued["id"])

            async def acknowledged(recall_id: str = recall_id) -> bool:
                _alive(agent)
                path = f"/platforms/recalls?recall_id={recall_id}"
                found = (await w.api.ok("GET", path, "auditor"))["results"]
                return any(x["platform_id"] == w.platform_id and x["acknowledged_at"] for x in found)

            delivered, acked = await _both(
                observer.delivered(recall_id), _until(acknowledged, "the recall never acknowledged")
            )
            r.delivered.append(delivered - t0)
            r.acknowledged.append(acked - t0)
            r.marks.append((wall, recall_id, instance_id))
            # The fix runs under the recall's override; then the customer moves the
            # instance to it, which ends the override (not measured).
            await _settled(w, agent, instance_id, fixed, recall_id)
            await w.api.ok("PATCH", f"/instances/{instance_id}", "customer", {"build_id": fixed})
            await _settled(w, agent, instance_id, fixed, None)
    except Exception as exc:
        r.errors[f"recall: {reason(exc)}"] += 1
    if instance_id is not None:
        try:
            await _destroy(w, agent, instance_id)
        except Exception as exc:
            r.errors[f"recall: {reason(exc)}"] += 1
    return r


async def _measure(stack: Stack, tokens: dict[str, str]) -> Results:
    tmp = Path(tempfile.mkdtemp(prefix="hspm-bench-agent-"))
    versions = [f"1.{n}.0" for n in range(ROUNDS + 1)]
    clean = False
    ended: dict[str, Any] = {"code": None, "log": ""}

    async def end(agent: AgentProcess) -> None:
        """Stop the agent and remove what it made; keep its exit code and log."""
        ended["code"] = await agent.clean_up()
        if not clean:
            _line(f"\nthe agent's log, its end:\n{agent.log_tail()}")
        ended["log"] = agent.log.read_text() if agent.log.exists() else ""

    # Clean-ups run in reverse order, each even if one before it failed.
    async with contextlib.AsyncExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, tmp, ignore_errors=True)
        http = await cleanup.enter_async_context(
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        )
        w = await make_world(http, stack, tokens, {v: sample(v) for v in versions}, REPLICAS)
        key, key_id = await register_key(w, "bench agent")
        watch_key, watch_key_id = await register_key(w, "bench observer")
        agent = AgentProcess(tmp / "agent", w, key, key_id, resync_seconds=RESYNC_SECONDS)
        cleanup.push_async_callback(end, agent)
        bare = Bare(tmp / "bare", stack.config.registry_host, await _bare_spec(w, http, versions[0]))
        cleanup.push_async_callback(bare.clean_up)
        await bare.prepare()
        agent.start()
        observer = Observer(w, watch_key_id, watch_key)
        cleanup.push_async_callback(observer.close)
        await _agent_ready(agent, http)
        await observer.wait_ready()
        created = await _created(w, agent, bare, versions[0])
        recalled = await _recalled(w, agent, observer, versions)
        argv = bare.argv(replace(bare.spec, instance_id="<instance>"), 1)
        clean = not (created.errors or created.bare_errors or recalled.errors)
    code = ended["code"]
    if code not in (0, None):
        recalled.errors[f"the agent exited {code}"] += 1
    return Results(created, recalled, argv, log_events(ended["log"]), code)


async def _measure_within_budget(stack: Stack, tokens: dict[str, str]) -> Results:
    async with asyncio.timeout(BUDGET_SECONDS):
        return await _measure(stack, tokens)


# --- the report -------------------------------------------------------------------------------


def _marks(r: Results) -> dict[str, list[float]]:
    """Seconds from each round's POST to what the agent's log says it did."""
    out: dict[str, list[float]] = {}

    def add(name: str, value: float | None) -> None:
        if value is not None:
            out.setdefault(name, []).append(value)

    for wall, instance_id in r.created.marks:
        add("created rollout.started", first_after(r.log, "rollout.started", wall, instance_id=instance_id))
        add("created rollout.healthy", first_after(r.log, "rollout.healthy", wall, instance_id=instance_id))
    for wall, recall_id, instance_id in r.recalled.marks:
        received = first_after(r.log, "recall.received", wall, recall_id=recall_id)
        add("recall recall.received", received)
        if received is not None:
            healthy = first_after(r.log, "rollout.healthy", wall + received, instance_id=instance_id)
            add("recall rollout.healthy", None if healthy is None else received + healthy)
        add(
            "recall recall.acknowledged", first_after(r.log, "recall.acknowledged", wall, recall_id=recall_id)
        )
    return out


def _shown(argv: Sequence[str]) -> str:
    """The bare command, its storage paths shortened."""
    return " ".join(os.path.basename(a) if a.startswith("/") else a for a in argv)


def report(r: Results) -> None:
    c, rc = r.created, r.recalled
    marks = _marks(r)

    def fig(name: str, values: Sequence[float]) -> None:
        _line(f"    {name:58}{median(values):>8.2f}{maximum(values):>8.2f}")

    def rounds(name: str, values: Sequence[float]) -> None:
        _line(f"      {name}, round by round: " + " ".join(f"{v:.2f}" for v in values))

    def mark(name: str, key: str) -> None:
        fig(f"{name} (the agent's log)", marks.get(key, []))

    _line(
        f"\nplatform agent (hspm agent run, podman driver, {REPLICAS} replica; {ROUNDS} rounds after "
        f"{WARMUP_ROUNDS} warm-up; podman asked every {PODMAN_POLL:g} s, the gateway and /health "
        f"every {POLL:g} s)"
    )
    _line(f"  bare: {_shown(r.bare_argv)}")
    _line(f"    {'instance created, seconds':58}{'median':>8}{'max':>8}")
    fig("bare: podman run -d → podman reports it running", c.bare_running)
    fig("agent: POST /instances → podman reports it running", c.running)
    fig("bare: podman run -d → GET /health 200", c.bare_healthy)
    fig("agent: POST /instances → deployed_at shown (gateway)", c.deployed)
    rounds("deployed_at", c.deployed)
    mark("agent: POST → rollout started", "created rollout.started")
    mark("agent: POST → rollout healthy", "created rollout.healthy")
    for running, deployed in c.warmup:
        _line(
            f"    warm-up (the agent pulls the image): {running:.2f} s to running, "
            f"{deployed:.2f} s to deployed_at"
        )
    _line(f"    {'recall issued (critical, upgrade policy), seconds':58}{'median':>8}{'max':>8}")
    fig("notifier: POST /recalls → security_notice on a socket", rc.delivered)
    mark("agent: POST → recall taken in", "recall recall.received")
    mark("agent: POST → the fix healthy", "recall rollout.healthy")
    mark("agent: POST → recall_ack sent", "recall recall.acknowledged")
    fig("agent: POST /recalls → acknowledged_at listed (gateway)", rc.acknowledged)
    rounds("acknowledged_at", rc.acknowledged)
    for counted in (c.bare_errors, c.errors, rc.errors):
        if counted:
            _line(f"  errors: {errors_text(counted)}")


def rows(r: Results) -> list[Row]:
    c, rc = r.created, r.recalled
    create_errors = c.errors + c.bare_errors
    n = f"{ROUNDS} rounds"

    def errors(counted: Counter[str]) -> dict[str, Any]:
        return {"errors": sum(counted.values()), "statuses": errors_text(counted)}

    return [
        Row(
            f"agent: instance created → container running, median of {n}",
            median(c.running),
            "s",
            baseline=median(c.bare_running),
            baseline_name="bare podman run -d",
            **errors(create_errors),
        ),
        Row(
            "agent: instance created → container running, max",
            maximum(c.running),
            "s",
            baseline=maximum(c.bare_running),
            baseline_name="bare podman run -d",
        ),
        Row(
            f"agent: instance created → deployed_at through the gateway, median of {n}",
            median(c.deployed),
            "s",
            baseline=median(c.bare_healthy),
            baseline_name="bare run + /health",
        ),
        Row(
            "agent: instance created → deployed_at through the gateway, max",
            maximum(c.deployed),
            "s",
            baseline=maximum(c.bare_healthy),
            baseline_name="bare run + /health",
        ),
        Row(
            f"agent: recall issued → acknowledgement on record (upgrade), median of {n}",
            median(rc.acknowledged),
            "s",
            baseline=median(rc.delivered),
            baseline_name="notifier delivery",
            **errors(rc.errors),
        ),
        Row(
            "agent: recall issued → acknowledgement on record (upgrade), max",
            maximum(rc.acknowledged),
            "s",
            baseline=maximum(rc.delivered),
            baseline_name="notifier delivery",
        ),
    ]


async def run(stack: Stack, tokens: dict[str, str]) -> list[Row]:
    results = await _measure_within_budget(stack, tokens)
    report(results)
    return rows(results)
