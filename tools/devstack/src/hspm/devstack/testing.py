"""Private stacks for system tests: start one, and remove every trace of it afterwards."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import asyncpg

from hspm.common.testing import broker
from hspm.devstack.stack import SERVICES, Stack, StackConfig


async def start_stack(
    state_dir: Path,
    tag: str,
    pg_dsn: str,
    amqp_url: str,
    extra_env: dict[str, str] | None = None,
    parts: Collection[str] | None = None,
    replicas: int = 1,
) -> Stack:
    """Start a stack with its own ports, databases and AMQP namespace.

    A whole stack (``parts`` None) is seeded with the demo personas and catalog; a stack
    of some ``parts`` only (see ``Stack.start``) is left empty for the test to fill.
    """
    config = StackConfig.isolated(state_dir, tag, replicas)
    config.extra_env.update(extra_env or {})
    config.pg_url = pg_dsn.rsplit("/", 1)[0]
    config.amqp_url = amqp_url
    stack = Stack(config)
    try:
        await stack.start(timeout=90, parts=parts)
        if parts is None:
            await stack.seed()
            await stack.seed_catalog()
    except BaseException:
        await stack.stop()
        await drop_stack_state(config)
        raise
    return stack


async def drop_stack_state(config: StackConfig) -> None:
    """Drop the stack's databases and everything of its AMQP namespace (quorum queues stay otherwise)."""
    conn = await asyncpg.connect(f"{config.pg_url}/postgres")
    try:
        for spec in SERVICES:
            if spec.database:
                await conn.execute(
                    f'DROP DATABASE IF EXISTS "{config.database_prefix}_{spec.name}" WITH (FORCE)'
                )
    finally:
        await conn.close()
    await broker.drop_namespaces(config.amqp_url, [config.amqp_namespace])
