"""Apply one traced and one untraced stream item as the agent does; print what the
collector received. A subprocess, so the global tracer provider stays out of other tests."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys

import orjson

from hspm.devstack.traces import Collector, environment


async def main(traceparent: str) -> None:
    collector = Collector()
    await collector.start()
    os.environ.update(environment(collector.endpoint))
    from hspm.client.platform_agent import tracing

    flush = tracing.configure()
    sent = []
    for frame in ({"type": "event", "seq": 7, "epoch": "e1", "resource_type": "instance",
                   "event_type": "created", "traceparent": traceparent},
                  {"type": "event", "seq": 8, "epoch": "e1", "resource_type": "instance",
                   "event_type": "updated"}):  # fmt: skip
        with tracing.applying(frame):
            sent.append(tracing.carrier())
    await asyncio.to_thread(flush)
    spans = [dataclasses.asdict(s) for s in collector.spans]
    await collector.stop()
    sys.stdout.write(orjson.dumps({"spans": spans, "sent": sent}).decode())


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
