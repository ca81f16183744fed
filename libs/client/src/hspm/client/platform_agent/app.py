"""Wiring: settings in, a running agent out, stopped cleanly by SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import signal
from pathlib import Path

import aiohttp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from hspm.client.agent import AgentRefused
from hspm.client.platform_agent import server, tracing
from hspm.client.platform_agent.config import AgentConfig, ConfigError
from hspm.client.platform_agent.drivers import make_driver
from hspm.client.platform_agent.loop import PlatformAgent
from hspm.client.platform_agent.state import State

log = logging.getLogger(__name__)


def load_key(path: Path) -> ed25519.Ed25519PrivateKey:
    """An Ed25519 private key: PKCS#8 PEM, or base64 of the 32-byte seed."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"key_file {path}: {exc}") from exc
    if b"-----BEGIN" in raw:
        key = serialization.load_pem_private_key(raw, password=None)
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise ConfigError(f"key_file {path}: not an Ed25519 private key")
        return key
    try:
        seed = base64.b64decode(raw.strip(), validate=True)
    except binascii.Error as exc:
        raise ConfigError(f"key_file {path}: neither a PEM key nor base64") from exc
    if len(seed) != 32:
        raise ConfigError(f"key_file {path}: a base64 seed must be 32 bytes")
    return ed25519.Ed25519PrivateKey.from_private_bytes(seed)


async def run_agent(config: AgentConfig) -> int:
    """Run until a signal (exit 0) or until the marketplace refuses the key (exit 3)."""
    key = load_key(Path(config.key_file))
    state = State(Path(config.state_dir) / "agent.db")
    driver = make_driver(config)
    flush_traces = tracing.configure()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    try:
        async with aiohttp.ClientSession() as http:
            agent = PlatformAgent(config, driver, state, http, key)
            runner = await server.serve(server.make_app(agent.metrics, agent.health), config.listen)
            log.info("agent.started", extra={"platform_id": config.platform_id, "driver": driver.name})
            try:
                return await _until_stopped(agent, stopping)
            finally:
                await runner.cleanup()
    finally:
        state.close()
        flush_traces()
        log.info("agent.stopped")


async def _until_stopped(agent: PlatformAgent, stopping: asyncio.Event) -> int:
    work = asyncio.create_task(agent.run(), name="agent")
    stop = asyncio.create_task(stopping.wait(), name="signal")
    done, _ = await asyncio.wait({work, stop}, return_when=asyncio.FIRST_COMPLETED)
    if work in done:
        stop.cancel()
        try:
            work.result()
        except AgentRefused as exc:
            log.error("agent.refused", extra={"reason": str(exc)})
            return 3
        return 0
    work.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await work
    return 0
