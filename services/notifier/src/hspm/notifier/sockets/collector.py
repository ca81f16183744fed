"""The cyclic garbage collector, tuned for a process that holds thousands of sockets.

Every socket keeps a few hundred long-lived objects (its request, response, reader,
writer, tasks, session). CPython's collector walks all of them in a full collection: with
10,000 sockets one took over a second, during which nothing was delivered, and the young
collections that fan-out's short-lived frames set off cost half of a fan-out's CPU
(measured in ``bench.notifier``: p99 1,106 ms with the defaults, 66 ms with none).

So young collections run ten times less often and a full collection waits for ten times
more survivors. (What start-up built is already out of the collector's sight: every
service's base application freezes it.) Garbage without cycles is freed by
reference counting as always; cycles are still collected, only later.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator

from aiohttp import web

THRESHOLDS = (7_000, 20, 100)


async def tuned_collector(app: web.Application) -> AsyncIterator[None]:
    before = gc.get_threshold()
    gc.set_threshold(*THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)
