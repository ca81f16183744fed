"""Run a service: uvloop, signal handling and a bounded graceful shutdown."""

from __future__ import annotations

import asyncio

import uvloop
from aiohttp import web

from hspm.common.config import ServiceSettings


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
