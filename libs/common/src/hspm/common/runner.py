"""Run a service: settings, logging, tracing, uvloop, signals and a bounded graceful shutdown.

Every service's ``__main__.py`` is the same few lines::

    from hspm.catalog.app import create_app
    from hspm.catalog.config import Settings
    from hspm.common.runner import run

    if __name__ == "__main__":
        run(create_app, Settings)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

import uvloop
from aiohttp import web

from hspm.common.config import ServiceSettings
from hspm.common.logging import configure_logging
from hspm.common.tracing import configure_tracing

S = TypeVar("S", bound=ServiceSettings)


def run(create_app: Callable[[S], web.Application], settings_type: type[S]) -> None:
    """Read settings from the environment, configure logs and traces, serve until SIGTERM."""
    settings = settings_type()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    configure_tracing(settings.service_name)
    run_app(create_app(settings), settings)


def run_app(app: web.Application, settings: ServiceSettings) -> None:
    """Serve until SIGTERM/SIGINT; in-flight requests get ``shutdown_timeout`` to finish."""
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    web.run_app(
        app,
        host=settings.http_host,
        port=settings.http_port,
        shutdown_timeout=settings.shutdown_timeout,
        access_log=None,
        print=None,
        handle_signals=True,
        loop=loop,
        reuse_port=True,
    )
