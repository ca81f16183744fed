"""The agent's own small HTTP server: ``/healthz`` for the platform, ``/metrics`` for Prometheus."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from hspm.client.platform_agent.metrics import Metrics


def make_app(metrics: Metrics, health: Callable[[], dict[str, Any]]) -> web.Application:
    async def healthz(_: web.Request) -> web.Response:
        body = health()
        return web.json_response(body, status=200 if body.get("ok") else 503)

    async def metrics_text(_: web.Request) -> web.Response:
        return web.Response(text=metrics.render(), content_type="text/plain", charset="utf-8")

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_text)
    return app


async def serve(app: web.Application, listen: str) -> web.AppRunner:
    """Start serving on ``host:port``; the caller cleans the runner up."""
    host, _, port = listen.rpartition(":")
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host or "127.0.0.1", int(port)).start()
    return runner
