"""The agent's loop: take each stream item in, apply it, acknowledge it, report, resync.

Start-up converges everything the state recorded (a change taken in just before a crash
is applied now), then resumes the stream after the last position recorded. Each item is
recorded with its position in one transaction, applied, and only then acknowledged. A
periodic pass converges every instance again, repairing drift and removing what is not
wanted, and sends what could not be sent. One lock keeps item and periodic work apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import aiohttp
from cryptography.hazmat.primitives.asymmetric import ed25519

from hspm.client.agent import Agent, Item
from hspm.client.platform_agent import events, tracing
from hspm.client.platform_agent.catalog import Catalog, CatalogError
from hspm.client.platform_agent.config import AgentConfig
from hspm.client.platform_agent.converge import Converger, Outcome, failed
from hspm.client.platform_agent.desired import SpecError
from hspm.client.platform_agent.drivers.base import Driver
from hspm.client.platform_agent.licenses import LicenseRefused, Licenses
from hspm.client.platform_agent.metrics import Metrics
from hspm.client.platform_agent.recalls import Recall
from hspm.client.platform_agent.reports import Reporter
from hspm.client.platform_agent.specs import SpecBuilder
from hspm.client.platform_agent.state import State

log = logging.getLogger(__name__)
REFUSALS = (SpecError, CatalogError, LicenseRefused)


class PlatformAgent:
    def __init__(
        self,
        config: AgentConfig,
        driver: Driver,
        state: State,
        http: aiohttp.ClientSession,
        key: ed25519.Ed25519PrivateKey,
    ) -> None:
        self.config, self.driver, self.state, self.http = config, driver, state, http
        self.metrics = Metrics()
        catalog = Catalog(config.marketplace_url, state, http)
        self.licenses = Licenses(config.licenses, catalog, state)
        self.specs = SpecBuilder(config, state, catalog, self.licenses)
        self.converger = Converger(driver, state, config.health_timeout_seconds)
        epoch, seq = state.position()
        self.client = Agent(
            config.websocket_urls, config.platform_id, config.key_id, key, epoch=epoch, seq=seq
        )
        self.reporter = Reporter(state, self.client, self.metrics)
        self.lock = asyncio.Lock()
        self.last_pass: float | None = None
        self.started = time.time()

    # -- running

    async def run(self) -> None:
        """Until cancelled, or until the marketplace refuses the key (``AgentRefused``)."""
        await self.driver.prepare()
        async with self.lock:
            await self.recover()
        ticker = asyncio.create_task(self._ticker(), name="agent-resync")
        try:
            async for item in self.client.items(self.http):
                await self.take(item)
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            await self.driver.close()

    async def recover(self) -> None:
        """What a crash may have left half done: recalls not applied, instances not converged."""
        for recall_id in self.state.unapplied_recalls():
            await self.apply_recall(recall_id)
        await self.converge_all()

    async def take(self, item: Item) -> None:
        with tracing.applying(item.frame):
            await self._take(item)

    async def _take(self, item: Item) -> None:
        async with self.lock:
            with self.state.transaction():
                if item.kind == "event":
                    work = events.record_event(self.state, item.frame)
                else:
                    work = events.record_full_state(self.state, item.frame)
                self.state.set_position(item.epoch, item.seq)
            await self.do(work)
            await self.client.ack(item)
        self.metrics.inc("hspm_agent_events_applied_total", kind=item.kind)
        self.metrics.set("hspm_agent_stream_seq", item.seq)
        self.metrics.set("hspm_agent_connected", int(self.client.connected))
        await self.reporter.flush()
        await self.ack_recalls()

    async def do(self, work: events.Work) -> None:
        for instance_id in sorted(work.remove):
            await self.converger.remove(instance_id)
            self.reporter.forget(instance_id)
        for product_id in work.products:
            self.licenses.forget(product_id)
            work.converge |= {i for i, m in self.state.instances().items() if _product(m) == product_id}
        for recall_id in work.recalls:
            await self.apply_recall(recall_id)
        if work.everything:
            await self.converge_all()
        else:
            for instance_id in sorted(work.converge):
                await self.converge_instance(instance_id)

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(self.config.resync_seconds)
            try:
                async with self.lock:
                    await self.converge_all()
                await self.reporter.flush()
                await self.ack_recalls()
                self.metrics.set("hspm_agent_connected", int(self.client.connected))
            except Exception:  # a failed pass is logged; the next one tries again
                log.exception("resync.failed")

    # -- converging

    async def converge_all(self) -> None:
        wanted = self.state.instances()
        for instance_id in sorted(wanted):
            await self.converge_instance(instance_id)
        for stray in await self.converger.sweep(wanted):
            self.reporter.forget(stray)
        self.last_pass = time.time()
        self.metrics.set("hspm_agent_instances_desired", len(wanted))
        self.metrics.set("hspm_agent_instances_running", self.reporter.running())

    async def converge_instance(self, instance_id: str) -> None:
        model = self.state.instance(instance_id)
        if model is None:
            await self.converger.remove(instance_id)
            self.reporter.forget(instance_id)
            return
        started = time.monotonic()
        outcome = await self._outcome(instance_id, model)
        self.metrics.inc("hspm_agent_converge_seconds_sum", time.monotonic() - started)
        self.metrics.inc("hspm_agent_converge_seconds_count")
        if outcome.reported_state in ("running", "rolled_back", "failed"):
            self.metrics.inc("hspm_agent_rollouts_total", result=outcome.reported_state)
        await self.reporter.send(outcome)

    async def _outcome(self, instance_id: str, model: dict[str, Any]) -> Outcome:
        try:
            spec = await self.specs.spec(model)
        except REFUSALS as exc:
            log.warning("instance.refused", extra={"instance_id": instance_id, "reason": str(exc)})
            if model.get("desired_state") != "running":
                await self.converger.remove(instance_id)
                return Outcome(instance_id, "stopped")
            return Outcome(instance_id, "refused", errors=(str(exc),))
        try:
            return await self.converger.apply(spec)
        except Exception as exc:  # a driver failure is reported, never fatal to the loop
            log.exception("instance.failed", extra={"instance_id": instance_id})
            return failed(instance_id, f"{type(exc).__name__}: {exc}")

    # -- recalls

    async def apply_recall(self, recall_id: str) -> None:
        kept = self.state.recall(recall_id)
        if kept is None:
            return
        recall = Recall.from_model(kept[0])
        action = recall.action(self.config.recall_policy)
        hit = [i for i, m in self.state.instances().items() if str(m["build"]["id"]) in recall.affected]
        log.warning("recall.received", extra={"recall_id": recall.id, "action": action, "instances": hit})
        for instance_id in hit:
            self.state.put_override(instance_id, recall.fixed_build_id or "", recall.id, action)
            await self.converge_instance(instance_id)
        self.state.mark_recall(recall.id, "applied_at")

    async def ack_recalls(self) -> None:
        for recall_id in self.state.unacked_recalls():
            if not self.client.connected:
                return
            try:
                frame = {"type": "recall_ack", "ref": recall_id[:8], "recall_id": recall_id}
                await self.client.send(frame | tracing.carrier())
            except (ConnectionError, RuntimeError):
                return
            self.state.mark_recall(recall_id, "acked_at")
            self.metrics.inc("hspm_agent_recalls_acknowledged_total")
            log.info("recall.acknowledged", extra={"recall_id": recall_id})

    def health(self) -> dict[str, Any]:
        epoch, seq = self.state.position()
        return {
            "ok": passes_recent(self.last_pass, self.started, time.time(), self.config.resync_seconds),
            "connected": self.client.connected,
            "epoch": epoch,
            "seq": seq,
            "last_pass": self.last_pass,
            "driver": self.driver.name,
        }


# The loop is taken for stuck (``/healthz`` answers 503, so the platform restarts the
# agent) when no full pass has finished for this many resync periods: a pass waits for
# pulls and health gates, so one slow pass is not yet a stuck loop.
STUCK_AFTER_PERIODS = 5


def passes_recent(last_pass: float | None, started: float, now: float, resync_seconds: float) -> bool:
    """Has a full convergence pass finished recently enough (or the agent just started)?"""
    return now - (last_pass if last_pass is not None else started) <= STUCK_AFTER_PERIODS * resync_seconds


def _product(model: dict[str, Any]) -> str:
    return str(((model.get("build") or {}).get("product") or {}).get("id", ""))
