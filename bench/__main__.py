"""``make bench``: start a private stack, run every benchmark, print figures and ratios."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

import orjson

from bench import catalog, gateway, validation
from hspm.common.testing import unique
from hspm.devstack.testing import drop_stack_state, start_stack

PG = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP = os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


def _line(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _report(result: dict[str, object]) -> None:
    if "builds_per_minute" in result:
        validation.report(result, _line)
        return
    if "rate" in result:
        verdict = "meets" if float(result["p99_ms"]) < float(result["target_p99_ms"]) else "ABOVE"  # type: ignore[arg-type]
        _line(f"\n{result['benchmark']}")
        _line(
            f"  {result['rate']} req/s for 10 s: p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, "
            f"errors {result['errors']} ({verdict} the {result['target_p99_ms']} ms p99 target)"
        )
        return
    d = result.get("direct", result.get("bare"))
    p = result.get("proxied", result.get("gateway"))
    assert isinstance(d, dict) and isinstance(p, dict)
    _line(f"\n{result['benchmark']}")
    _line(f"  {'':10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}")
    baseline = "direct" if "direct" in result else "bare"
    rows = [(baseline, d), ("gateway", p)]
    if isinstance(result.get("catalog_direct"), dict):
        rows.insert(1, ("catalog", result["catalog_direct"]))
    for name, r in rows:
        _line(f"  {name:10}{r['rps']:>10.0f}{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}{r['errors']:>8}")
    verdict = "meets" if float(result["ratio"]) >= float(result["target_ratio"]) else "BELOW"  # type: ignore[arg-type]
    target = f"{result['target_ratio']:.0%}"
    _line(f"  ratio gateway/{baseline}: {result['ratio']:.2f} ({verdict} the {target} target)")


async def main(which: set[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        # The rate limit would throttle the load generator, which is one client.
        limits = {"HSPM_RATE_LIMIT_PER_MINUTE": "100000000", "HSPM_RATE_LIMIT_BURST": "100000"}
        stack = await start_stack(Path(tmp), unique("bench"), PG, AMQP, limits)
        try:
            tokens = orjson.loads((stack.config.state_dir / "dev-tokens.json").read_bytes())
            results: list[dict[str, object]] = []
            if "gateway" in which:
                results.append(await gateway.run(stack, tokens))
            if "catalog" in which:
                results.extend(await catalog.run(stack))
            if "validation" in which:
                results.append(await validation.run(stack, tokens))
            for result in results:
                _report(result)
            _line("\n" + orjson.dumps(results).decode())
        finally:
            await stack.stop()
            await drop_stack_state(stack.config)


BENCHMARKS = ("gateway", "catalog", "validation")

if __name__ == "__main__":
    # ``python -m bench validation`` runs one; no argument runs them all.
    chosen = set(sys.argv[1:]) or set(BENCHMARKS)
    if unknown := chosen - set(BENCHMARKS):
        sys.exit(f"unknown benchmark(s): {', '.join(sorted(unknown))}; choose from {', '.join(BENCHMARKS)}")
    asyncio.run(main(chosen))
