"""The agent's work on a traced event is a span of that trace, exported over OTLP, and
what it sends back names that span; an untraced event starts no span."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson

PROBE = Path(__file__).parent / "probes" / "trace_export.py"
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT = "b7ad6b7169203331"


def test_a_traced_event_is_applied_in_its_trace_and_answered_with_the_agents_span() -> None:
    done = subprocess.run(
        [sys.executable, str(PROBE), f"00-{TRACE_ID}-{PARENT}-01"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    found = orjson.loads(done.stdout)
    [span] = found["spans"]
    assert span["trace_id"] == TRACE_ID and span["parent_id"] == PARENT
    assert span["kind"] == "CONSUMER" and span["name"] == "apply instance created"
    assert span["service"] == "hspm-platform-agent"
    assert span["attributes"] == {"hspm.stream.seq": 7, "hspm.stream.epoch": "e1"}
    assert found["sent"] == [{"traceparent": f"00-{TRACE_ID}-{span['span_id']}-01"}, {}]
