"""One validation run: inspect the image, run it in the sandbox, judge it by the policy.

The validator's service layer: the worker hands it one request and publishes what it returns.
Each phase records its verdicts in the run's ``Findings``; this module orders the phases,
bounds the whole run and turns an unexpected failure into an ``error`` outcome.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from pathlib import Path

import aiohttp
import structlog

from hspm.common.events.curation import ValidationRequested
from hspm.common.events.validator import RUNTIME_RULES, RuntimeVerdict, ValidationCompleted
from hspm.validator import report
from hspm.validator.config import Settings
from hspm.validator.report import Findings
from hspm.validator.sandbox import runner
from hspm.validator.static import inspection

log = structlog.get_logger(__name__)
PRODUCER = "validator"


def scratch_root(settings: Settings) -> Path:
    root = Path(settings.work_dir) if settings.work_dir else Path(tempfile.gettempdir()) / "hspm-validator"
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    return root


def _reference(request: ValidationRequested) -> str:
    image = request.image
    parts = [p for p in (image.registry, image.repository) if p]
    text = "/".join(parts) or "no image"
    if image.tag:
        text += f":{image.tag}"
    if image.digest:
        text += f"@{image.digest}"
    return text


async def validate(
    request: ValidationRequested, settings: Settings, http: aiohttp.ClientSession
) -> ValidationCompleted:
    """Judge one build; an unexpected failure becomes an ``error`` outcome, not a verdict."""
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix=f"run-{request.run_id}-", dir=scratch_root(settings)))
    findings = Findings()
    timings: dict[str, float] = {}
    try:
        async with asyncio.timeout(settings.run_timeout):
            return await _judge(request, settings, http, workdir, findings, timings, started)
    except TimeoutError:
        return _broken(request, f"the run exceeded its budget of {settings.run_timeout:.0f} s", started)
    except Exception as exc:
        log.exception("validation.crashed", run_id=str(request.run_id))
        return _broken(request, f"the validator failed: {type(exc).__name__}: {exc}", started)
    finally:
        await asyncio.to_thread(shutil.rmtree, workdir, True)


async def _judge(
    request: ValidationRequested,
    settings: Settings,
    http: aiohttp.ClientSession,
    workdir: Path,
    findings: Findings,
    timings: dict[str, float],
    started: float,
) -> ValidationCompleted:
    t = time.perf_counter()
    facts = await inspection.inspect(request, findings, settings, workdir, http)
    timings["pull"] = round(time.perf_counter() - t, 4)
    if facts is None:
        reason = "the image could not be inspected, so it was not run"
        if not (request.image.repository or request.image.registry):
            reason = "this build has no container image"
        findings.skip(RUNTIME_RULES, reason)
        verdict = RuntimeVerdict(status="skipped", reason=reason)
    else:
        verdict, run_timings = await runner.run(facts, request, findings, settings, workdir)
        timings.update({k: round(v, 4) for k, v in run_timings.items()})
    timings["total"] = round(time.perf_counter() - started, 4)
    results = findings.results(request.policy)
    result = report.outcome(results)
    ran = "ran" if verdict.status == "ran" else f"skipped ({verdict.reason})"
    reference = str(facts.target) if facts else _reference(request)
    return ValidationCompleted(
        run_id=request.run_id,
        build_id=request.build_id,
        product_id=request.product_id,
        outcome=result,
        digest=facts.digest if facts else None,
        rules=results,
        runtime=verdict,
        timings=timings,
        image=facts.summary() if facts else {},
        summary=report.summary(request.version, reference, result, results, ran),
        producer=PRODUCER,
    )


def _broken(request: ValidationRequested, error: str, started: float) -> ValidationCompleted:
    return ValidationCompleted(
        run_id=request.run_id,
        build_id=request.build_id,
        product_id=request.product_id,
        outcome="error",
        timings={"total": round(time.perf_counter() - started, 4)},
        runtime=RuntimeVerdict(status="skipped", reason=error),
        summary=f"Build {request.version} ({_reference(request)}): ERROR\n{error}\n",
        error=error,
        producer=PRODUCER,
    )
