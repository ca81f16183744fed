"""The curation service's application factory."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from hspm.common import lifecycle
from hspm.common.web import create_base_app
from hspm.curation.config import Settings
from hspm.curation.consumers import HANDLERS
from hspm.curation.keys import scheduler_key, settings_key
from hspm.curation.policy import rules as policy_rules
from hspm.curation.policy import service as policy
from hspm.curation.reviews import scheduler
from hspm.curation.routes import setup_routes
from hspm.curation.validations import queue
from hspm.curation.validations import service as validations


def create_app(settings: Settings) -> web.Application:
    """Database, the first policy, the queue's limits, bus, relay, the consumer, re-validation, routes."""
    app = create_base_app(settings, "curation")
    app[settings_key] = settings
    app.cleanup_ctx.append(lifecycle.database("hspm.curation"))
    app.cleanup_ctx.append(_first_policy)
    app.cleanup_ctx.append(_queue_limits)
    app.cleanup_ctx.append(lifecycle.bus())
    app.cleanup_ctx.append(lifecycle.relay())
    app.cleanup_ctx.append(lifecycle.consumer(HANDLERS))
    app.cleanup_ctx.append(_revalidation)
    setup_routes(app)
    return app


async def _first_policy(app: web.Application) -> AsyncIterator[None]:
    """On a fresh database the policy starts from the settings; after that it is data."""
    s = app[settings_key]
    first = policy_rules.initial(
        s.policy_allowed_registries, s.policy_insecure_registries, s.policy_required_labels
    )
    async with app[lifecycle.pool_key].acquire() as conn:
        await policy.seed(conn, first)
    yield


async def _queue_limits(app: web.Application) -> AsyncIterator[None]:
    """The fair queue's limits are the settings' (written at every start)."""
    async with app[lifecycle.pool_key].acquire() as conn:
        await validations.configure_queue(conn, limits(app[settings_key]))
    yield


def limits(s: Settings) -> queue.Limits:
    """The fair queue's limits from the settings."""
    return queue.Limits(
        max_in_flight=s.validation_max_in_flight,
        max_open_per_requester=s.validation_max_open_per_requester,
        max_open_per_product=s.validation_max_open_per_product,
        retry_after_seconds=s.validation_retry_after_seconds,
    )


async def _revalidation(app: web.Application) -> AsyncIterator[None]:
    """The scheduled re-validation loop, stopped before the pool closes."""
    s = app[settings_key]
    if s.revalidate_interval_seconds <= 0:
        yield
        return
    stop = asyncio.Event()
    task = asyncio.create_task(
        scheduler.run_forever(
            app[lifecycle.pool_key], s.revalidate_interval_seconds, s.validation_timeout_seconds, stop
        ),
        name="revalidation",
    )
    app[scheduler_key] = task
    try:
        yield
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, 3.0)
        except TimeoutError:
            # wait_for cancelled the pass; its transaction rolls back with the connection.
            with contextlib.suppress(asyncio.CancelledError):
                await task
