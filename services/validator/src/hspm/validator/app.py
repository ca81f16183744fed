"""The validator's application factory: health, readiness and metrics, plus the worker."""

from __future__ import annotations

from aiohttp import web

from hspm.common import lifecycle
from hspm.common.web import create_base_app
from hspm.validator.config import Settings
from hspm.validator.worker import worker


def create_app(settings: Settings) -> web.Application:
    """No database and no public API: the bus in, the bus out, /healthz /readyz /metrics."""
    app = create_base_app(settings, "validator", trust_principal=False)
    app.cleanup_ctx.append(lifecycle.bus())
    app.cleanup_ctx.append(worker(settings))
    return app
