"""``make bench``: start a private stack, run every benchmark, print figures and ratios."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

import orjson

from bench import gateway
from hspm.common.testing import unique
from hspm.devstack.testing import drop_stack_state, start_stack

PG = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP = os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


def _line(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _report(result: dict[str, object]) -> None:
    d, p = result["direct"], result["proxied"]
    assert isinstance(d, dict) and isinstance(p, dict)
    _line(f"\n{result['benchmark']}")
    _line(f"  {'':10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}")
    for name, r in (("direct", d), ("gateway", p)):
        _line(f"  {name:10}{r['rps']:>10.0f}{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}{r['errors']:>8}")
    verdict = "meets" if float(result["ratio"]) >= float(result["target_ratio"]) else "BELOW"  # type: ignore[arg-type]
    _line(
        f"  ratio gateway/direct: {result['ratio']:.2f} ({verdict} the {result['target_ratio']:.0%} target)"
    )


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        # The rate limit would throttle the load generator, which is one client.
        limits = {"HSPM_RATE_LIMIT_PER_MINUTE": "100000000", "HSPM_RATE_LIMIT_BURST": "100000"}
        stack = await start_stack(Path(tmp), unique("bench"), PG, AMQP, limits)
        try:
            tokens = orjson.loads((stack.config.state_dir / "dev-tokens.json").read_bytes())
            result = await gateway.run(stack, tokens)
            _report(result)
            _line("\n" + orjson.dumps(result).decode())
        finally:
            await stack.stop()
            await drop_stack_state(stack.config)


if __name__ == "__main__":
    asyncio.run(main())
