"""Validation: builds per minute, and submission → review-ready latency for the good image.

Everything goes through the running stack: an ISV submits a build through the gateway,
the catalog emits it, curation asks the validator, which pulls the image from the stack's
registry, checks it and runs it under runc; the figure stops when the review case is
``awaiting_review``. The baseline is the same image taken through the bare toolchain by
hand in the same run (skopeo copy, umoci unpack, runc run, a health probe by
``runc exec``, SIGTERM): what the validator cannot do faster than.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.table import Row
from hspm.common.testing import unique
from hspm.devstack.api import GatewayApi
from hspm.devstack.stack import Stack

SEQUENTIAL = 6
BURST = 12
TARGET_BUILDS_PER_MINUTE = 60.0
# Keep what was reached before (0.55-0.62): the run's own work beside the bare toolchain.
TARGET_RATIO_WITHOUT_SOAK = 0.50
PHASES = ("pull", "unpack", "start", "healthy", "soak", "smoke", "stop")


async def _prepare(api: GatewayApi, stack: Stack) -> tuple[str, str]:
    """A product with a draft build of the good sample, ready to submit."""
    product = await api.ok("POST", "/products", "isv", {"name": unique("Bench validation")})
    pid = product["id"]
    build = await api.ok(
        "POST",
        f"/products/{pid}/builds",
        "isv",
        {
            "version": "1.0.0",
            "container_registry": stack.config.registry_host,
            "container_repository": "samples/good",
            "container_tag": "1",
        },
    )
    at = f"/products/{pid}/builds/{build['id']}"
    config = await api.ok("POST", f"{at}/configurations", "isv", {"name": "default", "default": True})
    task = {"name": "web", "memory_maximum": 128, "instances_minimum": 1, "ports": [8080]}
    await api.ok("POST", f"{at}/configurations/{config['id']}/tasks", "isv", task)
    return pid, build["id"]


async def _review_ready(api: GatewayApi, build_id: str, timeout: float = 300.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body = await api.ok("GET", f"/reviews?build_id={build_id}", "operator")
        if body["results"] and body["results"][0]["state"] not in ("submitted", "validating"):
            review: dict[str, Any] = body["results"][0]
            assert review["state"] == "awaiting_review", review
            return review
        if time.monotonic() > deadline:
            raise TimeoutError(f"build {build_id} not reviewed in {timeout} s")
        await asyncio.sleep(0.02)


async def _submit_and_wait(api: GatewayApi, pid: str, bid: str) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    await api.ok("POST", f"/products/{pid}/builds/{bid}/submit", "isv")
    await _review_ready(api, bid)
    latency = time.perf_counter() - started
    runs = await api.ok("GET", f"/products/{pid}/builds/{bid}/validations", "isv")
    return latency, runs["results"][0]


def _bare_toolchain(registry: str) -> dict[str, float]:
    """The good image by hand: pull, unpack, run, probe health, stop. Seconds per step."""
    work = Path(tempfile.mkdtemp(prefix="bench-bare-"))
    name = f"bench-bare-{os.getpid()}-{time.monotonic_ns()}"
    t: dict[str, float] = {}
    try:
        mark = time.perf_counter()
        subprocess.run(
            ["skopeo", "copy", "--quiet", "--src-tls-verify=false",
             f"docker://{registry}/samples/good:1", f"oci:{work}/oci:img"],
            check=True,
        )  # fmt: skip
        t["pull"], mark = time.perf_counter() - mark, time.perf_counter()
        subprocess.run(["umoci", "unpack", "--image", f"{work}/oci:img", f"{work}/bundle"], check=True)
        t["unpack"], mark = time.perf_counter() - mark, time.perf_counter()
        config_path = work / "bundle" / "config.json"
        config = json.loads(config_path.read_text())
        config["process"]["terminal"] = False
        config["linux"].setdefault("resources", {})["memory"] = {"limit": 128 * 1024 * 1024}
        config_path.write_text(json.dumps(config))
        runner = subprocess.Popen(
            ["runc", "run", "--bundle", str(work / "bundle"), name],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        while (
            '"running"' not in subprocess.run(["runc", "state", name], capture_output=True, text=True).stdout
        ):
            time.sleep(0.005)
        t["start"], mark = time.perf_counter() - mark, time.perf_counter()
        probe = ["runc", "exec", name, "wget", "-q", "-O-", "http://127.0.0.1:8080/health"]
        while subprocess.run(probe, capture_output=True).returncode != 0:
            time.sleep(0.02)
        t["healthy"], mark = time.perf_counter() - mark, time.perf_counter()
        subprocess.run(["runc", "kill", name, "TERM"], check=True)
        runner.wait(15)
        t["stop"] = time.perf_counter() - mark
        t["total"] = sum(t.values())
        return t
    finally:
        subprocess.run(["runc", "delete", "--force", name], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


def _bare_available() -> str | None:
    missing = [tool for tool in ("skopeo", "umoci", "runc") if shutil.which(tool) is None]
    if missing:
        return f"missing {', '.join(missing)}"
    if os.geteuid() != 0:
        return "not root"
    return None


async def run(stack: Stack, tokens: dict[str, str]) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http:
        api = GatewayApi(http, stack.config.gateway_url, tokens)
        # Warm up once: first imports, first connections, the registry's first blob reads.
        await _submit_and_wait(api, *await _prepare(api, stack))

        latencies: list[float] = []
        runs: list[dict[str, Any]] = []
        bare: list[dict[str, float]] = []
        unavailable = _bare_available()
        for _ in range(SEQUENTIAL):
            pid, bid = await _prepare(api, stack)
            latency, validation = await _submit_and_wait(api, pid, bid)
            latencies.append(latency)
            runs.append(validation)
            if unavailable is None:
                # Interleaved with the validator's runs so both see the same machine.
                bare.append(await asyncio.to_thread(_bare_toolchain, stack.config.registry_host))

        prepared = [await _prepare(api, stack) for _ in range(BURST)]
        started = time.perf_counter()
        await asyncio.gather(
            *(api.ok("POST", f"/products/{p}/builds/{b}/submit", "isv") for p, b in prepared)
        )
        await asyncio.gather(*(_review_ready(api, b) for _, b in prepared))
        burst_seconds = time.perf_counter() - started

    phases = {p: statistics.median(r["timings"].get(p, 0.0) for r in runs) for p in (*PHASES, "total")}
    e2e = statistics.median(latencies)
    result: dict[str, Any] = {
        "benchmark": "validation: submission → review-ready, good image (sandbox: "
        + str(runs[0]["runtime"]["status"])
        + ")",
        "e2e_p50_s": round(e2e, 3),
        "e2e_max_s": round(max(latencies), 3),
        "validator_run_s": round(phases["total"], 3),
        "phases_s": {p: round(v, 3) for p, v in phases.items() if p != "total"},
        "overhead_s": round(e2e - phases["total"], 3),
        "burst_builds": BURST,
        "burst_seconds": round(burst_seconds, 2),
        "builds_per_minute": round(BURST / burst_seconds * 60, 1),
    }
    if bare:
        base = {
            p: statistics.median(b[p] for b in bare) for p in ("pull", "unpack", "start", "healthy", "stop")
        }
        base_total = statistics.median(b["total"] for b in bare)
        result["bare"] = {p: round(v, 3) for p, v in base.items()} | {"total": round(base_total, 3)}
        result["ratio"] = round(base_total / e2e, 3)
        # The soak is deliberate idle observation; without it, how close is the work?
        result["ratio_without_soak"] = round(base_total / max(e2e - phases["soak"], 1e-9), 3)
    else:
        result["bare_skipped"] = unavailable
    return result


def report(result: dict[str, Any], line: Any) -> None:
    line(f"\n{result['benchmark']}")
    line(
        f"  end to end p50 {result['e2e_p50_s'] * 1000:.0f} ms (max {result['e2e_max_s'] * 1000:.0f} ms); "
        f"validator run {result['validator_run_s'] * 1000:.0f} ms, "
        f"messaging and bookkeeping {result['overhead_s'] * 1000:.0f} ms"
    )
    run_total = max(result["validator_run_s"], 1e-9)
    shares = ", ".join(f"{p} {v * 1000:.0f} ms ({v / run_total:.0%})" for p, v in result["phases_s"].items())
    line(f"  phases of the run: {shares}")
    line(
        f"  throughput: {result['burst_builds']} builds in {result['burst_seconds']:.1f} s = "
        f"{result['builds_per_minute']:.0f} builds/min"
    )
    if "bare" in result:
        bare = result["bare"]
        steps = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in bare.items() if k != "total")
        line(f"  bare toolchain by hand: {bare['total'] * 1000:.0f} ms ({steps})")
        line(
            f"  ratio bare/end-to-end: {result['ratio']:.2f}; "
            f"without the {result['phases_s']['soak'] * 1000:.0f} ms soak: {result['ratio_without_soak']:.2f}"
        )
    else:
        line(f"  bare toolchain baseline skipped: {result['bare_skipped']}")


def rows(result: dict[str, Any]) -> list[Row]:
    """The validation figures for the bench table."""
    found = [
        Row(
            "validation throughput, 12 good builds at once",
            result["builds_per_minute"],
            "builds/min",
            target=TARGET_BUILDS_PER_MINUTE,
        ),
        Row("validation, submission to review-ready (p50)", result["e2e_p50_s"] * 1000, "ms"),
    ]
    if "bare" in result:
        # Runs per minute without the deliberate soak, against the bare toolchain's.
        ours = 60 / max(result["e2e_p50_s"] - result["phases_s"]["soak"], 1e-9)
        found.append(
            Row(
                "validation runs/min without the soak",
                ours,
                "runs/min",
                baseline=60 / result["bare"]["total"],
                baseline_name="bare toolchain",
                target=TARGET_RATIO_WITHOUT_SOAK,
            )
        )
    return found
