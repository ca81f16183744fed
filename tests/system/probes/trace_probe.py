"""Run gateway and identity in one process with an in-memory span exporter; print the spans.

Run as a subprocess by test_tracing.py so the global tracer provider and the asyncpg
instrumentation never leak into other tests.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

import aiohttp
import orjson
from aiohttp import web
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from hspm.common.tracing import configure_tracing


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def main(database_url: str, amqp_url: str, namespace: str, out_file: str) -> None:
    exporter = InMemorySpanExporter()
    assert configure_tracing("probe", SimpleSpanProcessor(exporter))
    # Imported after the provider exists, as a service's __main__ does.
    from hspm.gateway.app import create_app as create_gateway
    from hspm.gateway.config import Settings as GatewaySettings
    from hspm.identity.app import create_app as create_identity
    from hspm.identity.config import Settings as IdentitySettings
    from hspm.identity.signing import generate_private_key_pem

    secret = "probe-internal-secret-0123456789abcdef"
    identity_port, gateway_port = _port(), _port()
    common = {"amqp_url": amqp_url, "amqp_namespace": namespace, "internal_secret": secret}
    identity = create_identity(
        IdentitySettings(
            database_url=database_url,
            signing_key=generate_private_key_pem(),
            http_port=identity_port,
            **common,
        )
    )
    gateway = create_gateway(
        GatewaySettings(
            identity_url=f"http://127.0.0.1:{identity_port}",
            http_port=gateway_port,
            **common,
        )
    )
    runners = []
    for app, port in ((identity, identity_port), (gateway, gateway_port)):
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        runners.append(runner)
    exporter.clear()
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{gateway_port}/status") as resp:
        assert resp.status == 200, await resp.text()
    for runner in reversed(runners):
        await runner.cleanup()
    spans = [
        {
            "name": s.name,
            "kind": s.kind.name,
            "trace_id": format(s.context.trace_id, "032x"),
            "span_id": format(s.context.span_id, "016x"),
            "parent_id": format(s.parent.span_id, "016x") if s.parent else None,
            "attributes": {k: str(v) for k, v in (s.attributes or {}).items()},
        }
        for s in exporter.get_finished_spans()
    ]
    # A file, not stdout: the services log to stdout.
    Path(out_file).write_bytes(orjson.dumps(spans))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
