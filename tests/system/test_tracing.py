"""One trace spans gateway → identity → PostgreSQL."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import orjson

PROBE = Path(__file__).parent / "probes" / "trace_probe.py"


def _ancestors(span: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    chain = []
    while span["parent_id"] in by_id:
        span = by_id[span["parent_id"]]
        chain.append(span)
    return chain


async def test_gateway_identity_and_postgres_share_one_trace(
    fresh_db: str, amqp_url: str, amqp_namespace: str, tmp_path: Path
) -> None:
    spans_file = tmp_path / "spans.json"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(PROBE),
        fresh_db,
        amqp_url,
        amqp_namespace,
        str(spans_file),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()[-2000:]
    spans = orjson.loads(spans_file.read_bytes())
    by_id = {s["span_id"]: s for s in spans}

    gateway = [s for s in spans if s["kind"] == "SERVER" and s["parent_id"] is None]
    assert len(gateway) == 1, spans
    [root] = gateway
    identity = [s for s in spans if s["kind"] == "SERVER" and s["parent_id"] is not None]
    assert identity, "identity's server span is missing or not linked to the gateway's"
    assert all(root in _ancestors(s, by_id) for s in identity)
    queries = [s for s in spans if s["attributes"].get("db.system") == "postgresql"]
    assert queries, "no PostgreSQL span"
    assert any(identity[0] in _ancestors(q, by_id) for q in queries)
    assert len({s["trace_id"] for s in [root, *identity, *queries]}) == 1
