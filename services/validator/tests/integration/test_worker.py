"""The validator as a process on the bus: request in, report out; SIGTERM loses nothing.

Real RabbitMQ, the real registry with the samples, real runc. The validator runs as
``python -m hspm.validator`` in its own AMQP namespace.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import aio_pika
import aiohttp
import pytest
import pytest_asyncio
from aio_pika.abc import AbstractQueue

from hspm.common.bus import Bus
from hspm.common.events.catalog import ConfigurationSnapshot, TaskSnapshot
from hspm.common.events.curation import ImageTarget, ValidationPolicy, ValidationRequested
from hspm.common.events.validator import DEFAULT_REQUIRED_RULES, ValidationCompleted, ValidationStarted
from hspm.common.testing import wait_for
from hspm.devstack.oci_fixtures import PushedSamples
from hspm.devstack.stack import free_port

pytestmark = pytest.mark.usefixtures("sandbox_ready")


class Validator:
    """One ``python -m hspm.validator`` process."""

    def __init__(self, amqp_url: str, namespace: str, work: Path) -> None:
        self.port = free_port()
        env = {
            **os.environ,
            "HSPM_AMQP_URL": amqp_url,
            "HSPM_AMQP_NAMESPACE": namespace,
            "HSPM_HTTP_PORT": str(self.port),
            "HSPM_WORK_DIR": str(work),
            "HSPM_LOG_JSON": "true",
        }
        self.log = work / f"validator-{self.port}.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "hspm.validator"], env=env, stdout=out, stderr=subprocess.STDOUT
            )

    async def ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while True:
                assert self.process.poll() is None, self.log.read_text()[-3000:]
                try:
                    async with http.get(f"http://127.0.0.1:{self.port}/readyz") as resp:
                        if resp.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                assert time.monotonic() < deadline, "the validator did not become ready"
                await asyncio.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest_asyncio.fixture
async def reports(amqp_url: str, amqp_namespace: str) -> AsyncIterator[AbstractQueue]:
    """Our own queue of the validator's events, declared before anything is published."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            f"{amqp_namespace}.events", aio_pika.ExchangeType.TOPIC, durable=True
        )
        # Exclusive, not auto-delete: each _next() ends its consumer, which would delete it.
        queue = await channel.declare_queue("", exclusive=True)
        for event_type in (ValidationStarted.TYPE, ValidationCompleted.TYPE):
            await queue.bind(exchange, routing_key=event_type)
        yield queue


async def _next(queue: AbstractQueue, event_type: str, run_id: UUID, timeout: float) -> dict[str, Any]:
    async def take() -> dict[str, Any]:
        async with queue.iterator() as messages:
            async for message in messages:
                async with message.process():
                    body: dict[str, Any] = json.loads(message.body)
                    if message.routing_key == event_type and body["run_id"] == str(run_id):
                        return body
        raise AssertionError("the queue closed")

    return await asyncio.wait_for(take(), timeout)


def _request(samples: PushedSamples, name: str, **policy: Any) -> ValidationRequested:
    task = TaskSnapshot(task_id=uuid4(), name="web", memory_maximum=64, ports=[8080])
    return ValidationRequested(
        run_id=uuid4(),
        build_id=uuid4(),
        product_id=uuid4(),
        version="1.0.0",
        image=ImageTarget(registry=samples.host, repository=samples.repository(name), tag=samples.tag),
        configurations=[
            ConfigurationSnapshot(configuration_id=uuid4(), name="default", default=True, tasks=[task])
        ],
        policy=ValidationPolicy(
            required_rules=list(DEFAULT_REQUIRED_RULES),
            allowed_registries=[samples.host],
            insecure_registries=[samples.host],
            **policy,
        ),
    )


def _tails(work: Path) -> str:
    """The end of every validator's log in ``work``, for a failure message."""
    logs = sorted(work.glob("validator-*.log"))
    return "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for log in logs)


async def _containers() -> list[str]:
    """The ids ``runc list`` shows (none while it cannot read a half-created container)."""
    listed = await asyncio.to_thread(subprocess.run, ["runc", "list", "-q"], capture_output=True, text=True)
    return listed.stdout.split() if listed.returncode == 0 else []


async def _has_container(run_id: UUID) -> bool:
    return any(run_id.hex[:12] in c for c in await _containers())


async def _publish(amqp_url: str, namespace: str, event: ValidationRequested) -> None:
    bus = Bus(amqp_url, namespace, "validator-test")
    await bus.connect()
    try:
        await bus.publish_event(event)
    finally:
        await bus.close()


async def test_a_request_becomes_a_report_on_the_bus(
    amqp_url: str, amqp_namespace: str, sample_images: PushedSamples, reports: AbstractQueue, tmp_path: Path
) -> None:
    validator = Validator(amqp_url, amqp_namespace, tmp_path)
    try:
        await validator.ready()
        request = _request(sample_images, "good")
        await _publish(amqp_url, amqp_namespace, request)
        started = await _next(reports, ValidationStarted.TYPE, request.run_id, 30)
        assert started["attempt"] == 1
        body = await _next(reports, ValidationCompleted.TYPE, request.run_id, 60)
        report = ValidationCompleted.model_validate(body)
        assert report.outcome == "passed", report.summary
        assert report.runtime.status == "ran"
        assert report.digest == sample_images.digests["good"]
        assert {"pull", "unpack", "start", "healthy", "stop", "total"} <= set(report.timings)
    finally:
        validator.stop()


async def test_sigterm_mid_run_stops_cleanly_cleans_up_and_requeues(
    amqp_url: str, amqp_namespace: str, sample_images: PushedSamples, reports: AbstractQueue, tmp_path: Path
) -> None:
    first = Validator(amqp_url, amqp_namespace, tmp_path)
    try:
        await first.ready()
        # An image that ignores SIGTERM, with a long grace: the run is still going when
        # the validator itself is told to stop.
        request = _request(sample_images, "ignores-sigterm", stop_grace_seconds=12)
        await _publish(amqp_url, amqp_namespace, request)
        await _next(reports, ValidationStarted.TYPE, request.run_id, 30)
        # The signal must land mid-run, with a container up for the shutdown to undo.
        await wait_for(lambda: _has_container(request.run_id), timeout=60, interval=0.2)
        first.process.send_signal(signal.SIGTERM)
        # Generous: this only fails a shutdown that hangs.
        code = await asyncio.to_thread(first.process.wait, 60)
        assert code == 0, first.log.read_text()[-2000:]
        containers = await _containers()
        assert not [c for c in containers if request.run_id.hex[:12] in c], containers
        assert list(tmp_path.glob("run-*")) == []
    finally:
        first.stop()

    # The unacknowledged request went back to the queue: the next validator finishes it.
    second = Validator(amqp_url, amqp_namespace, tmp_path)
    try:
        await second.ready()
        try:
            again = await _next(reports, ValidationStarted.TYPE, request.run_id, 60)
        except TimeoutError:
            pytest.fail("no second attempt; the validators said:\n" + _tails(tmp_path))
        assert again["attempt"] >= 2
        body = await _next(reports, ValidationCompleted.TYPE, request.run_id, 90)
        report = ValidationCompleted.model_validate(body)
        assert report.outcome == "failed"
        assert {r.rule for r in report.rules if r.status == "fail"} >= {"runtime.stop"}
    finally:
        second.stop()
