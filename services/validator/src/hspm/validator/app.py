"""The validator's application factory: a worker on the bus, with health, readiness and metrics.

Unlike the area template it has no database and no HTTP API beyond health: it keeps nothing
durable (a request is acknowledged only once its report is published) and talks only over the
bus, so there are no routes, stores or outbox. ``worker`` stands where consumers stand, and
``pipeline`` (with the static, sandbox and smoke phases) where an area's service does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from hspm.common import lifecycle
from hspm.common.lifecycle import CleanupCtx, bus_key
from hspm.common.web import create_base_app
from hspm.common.web.app import state_key
from hspm.validator import keys
from hspm.validator.config import Settings
from hspm.validator.worker import Worker


def create_app(settings: Settings) -> web.Application:
    """No database and no public API: the bus in, the bus out, /healthz /readyz /metrics."""
    app = create_base_app(settings, "validator", trust_principal=False)
    app.cleanup_ctx.append(lifecycle.bus())
    app.cleanup_ctx.append(worker(settings))
    return app


def worker(settings: Settings) -> CleanupCtx:
    """cleanup_ctx: the worker runs for the app's lifetime and stops first at shutdown."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        the_worker = Worker(settings, app[bus_key], app[state_key].metrics.registry)
        app[keys.worker] = the_worker
        await the_worker.start()

        async def on_shutdown(_: web.Application) -> None:
            await the_worker.stop()

        app.on_shutdown.append(on_shutdown)
        try:
            yield
        finally:
            await the_worker.stop()

    return ctx
