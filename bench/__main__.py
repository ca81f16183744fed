"""``make bench``: start a private stack, run every benchmark, end with one table.

Every figure stands beside a baseline measured in the same run, with its ratio, target
and whether it was met (``bench.table``). A run in which any request failed exits
non-zero: errors in a benchmark are failures, not footnotes.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import orjson

from bench import agent, catalog, gateway, licensing, notifier, readme, table, validation, web
from hspm.common.testing import unique
from hspm.devstack.testing import drop_stack_state, start_stack

PG = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP = os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


def _line(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


async def main(which: set[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        # The rate limit would throttle the load generator, which is one client.
        limits = {"HSPM_RATE_LIMIT_PER_MINUTE": "100000000", "HSPM_RATE_LIMIT_BURST": "100000"}
        stack = await start_stack(Path(tmp), unique("bench"), PG, AMQP, limits)
        try:
            tokens = orjson.loads((stack.config.state_dir / "dev-tokens.json").read_bytes())
            rows: list[table.Row] = []
            if "gateway" in which:
                rows += await gateway.run(stack, tokens)
            if "catalog" in which:
                rows += await catalog.run(stack)
            if "licensing" in which:
                rows += await licensing.run(stack, tokens)
            if "validation" in which:
                result = await validation.run(stack, tokens)
                validation.report(result, _line)
                rows += validation.rows(result)
            if "notifier" in which:
                rows += await notifier.run(stack)
            if "agent" in which:
                rows += await agent.run(stack, tokens)
            if "web" in which:
                rows += await web.run(stack, tokens)
            table.render(rows, _line)
            if which == set(BENCHMARKS):
                when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
                if readme.update(table.markdown(rows, when, readme.machine())):
                    _line('\nREADME.md: the table under "Latest benchmark" is this run\'s.')
            _line("\n" + orjson.dumps([r.__dict__ | {"ratio": r.ratio, "met": r.met} for r in rows]).decode())
            if broken := table.failed(rows):
                names = "; ".join(f"{r.figure}: {r.statuses or r.errors}" for r in broken)
                raise SystemExit(f"\nbench FAILED: requests failed in {len(broken)} figure(s): {names}")
        finally:
            await stack.stop()
            await drop_stack_state(stack.config)


BENCHMARKS = ("gateway", "catalog", "validation", "licensing", "notifier", "agent", "web")

if __name__ == "__main__":
    # ``python -m bench validation`` runs one; no argument runs them all.
    chosen = set(sys.argv[1:]) or set(BENCHMARKS)
    if unknown := chosen - set(BENCHMARKS):
        sys.exit(f"unknown benchmark(s): {', '.join(sorted(unknown))}; choose from {', '.join(BENCHMARKS)}")
    asyncio.run(main(chosen))
