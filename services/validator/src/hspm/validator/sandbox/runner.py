"""The runtime phase: run the image under runc in a sandbox and judge what it does.

One run: ``umoci unpack`` the verified image layout (ids shifted into a private range) →
mount a size-bounded tmpfs holding an overlayfs upper layer over the unpacked rootfs, so the
image itself stays untouched and every write is captured → patch ``config.json`` (user
namespace, no network, minimal capabilities, seccomp deny-list, limits) → create the run's
own cgroup with the memory and pids limits → ``runc run`` → health (HEALTHCHECK via ``runc
exec``, else HTTP inside the container's network namespace) → soak → smoke tests → SIGTERM,
then SIGKILL after the grace period → judge memory, processes, filesystem and logs from what
outlives the container. Cleanup runs on a thread that cancellation cannot interrupt.

This module decides whether a run gets a sandbox at all and bounds the whole run; the steps
themselves are ``steps``, the host objects they create are recorded in ``runstate``.

Hosts that cannot sandbox (not root, no runc/umoci, no writable memory cgroup, a foreign
architecture) get every runtime rule skipped with the exact reason, never a pass.
"""

from __future__ import annotations

import asyncio
import functools
import os
import secrets
import shutil
from pathlib import Path

import structlog

from hspm.common.events.curation import ValidationPolicy, ValidationRequested
from hspm.common.events.validator import RUNTIME_RULES, RuntimeVerdict
from hspm.validator.config import Settings
from hspm.validator.facts import ImageFacts
from hspm.validator.report import Findings
from hspm.validator.sandbox import hostio
from hspm.validator.sandbox.bundle import HOST_ARCH
from hspm.validator.sandbox.cgroups import CgroupLayout
from hspm.validator.sandbox.hostio import COMMAND_TIMEOUT
from hspm.validator.sandbox.mounts import RUN_ROOT, overlay_available
from hspm.validator.sandbox.runstate import Sandbox, finish
from hspm.validator.sandbox.steps import (
    HTTP_TIMEOUT,
    START_TIMEOUT,
    UNPACK_TIMEOUT,
    RunSteps,
    SandboxError,
)

log = structlog.get_logger(__name__)


# --- can this host sandbox at all ------------------------------------------------------------


def probe(settings: Settings) -> str | None:
    """Why the sandbox cannot run on this host, or None when it can (cached)."""
    return _probe(settings.runc, settings.umoci, settings.cgroup_parent)


@functools.cache
def _probe(runc: str, umoci: str, cgroup_parent: str) -> str | None:
    if os.geteuid() != 0:
        return f"the sandbox needs root (running as uid {os.geteuid()})"
    for tool, setting in ((runc, "HSPM_RUNC"), (umoci, "HSPM_UMOCI")):
        if shutil.which(tool) is None:
            return f"{tool} not found on PATH (set {setting})"
    layout = CgroupLayout.detect()
    if isinstance(layout, str):
        return layout
    if hostio.read_or_empty(Path("/proc/sys/user/max_user_namespaces")).strip() == "0":
        return "user namespaces are disabled (user.max_user_namespaces is 0)"
    try:
        RUN_ROOT.mkdir(mode=0o711, parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot create {RUN_ROOT}: {exc.strerror}"
    problem = overlay_available()
    return problem if problem is not None and problem.startswith("tmpfs") else None


def skip_reason(facts: ImageFacts, request: ValidationRequested, settings: Settings) -> str | None:
    """Why this run gets no sandbox, or None to run it."""
    if not request.policy.runtime:
        return "the operator's policy turns the runtime sandbox off"
    if not settings.sandbox:
        return "the sandbox is disabled on this validator (HSPM_SANDBOX=false)"
    if facts.architecture != HOST_ARCH:
        return f"image architecture {facts.architecture or 'unknown'!r} cannot run on this {HOST_ARCH} host"
    if facts.layout is None:
        return "no verified image layout to unpack"
    return probe(settings)


# --- the run ---------------------------------------------------------------------------------


async def run(
    facts: ImageFacts,
    request: ValidationRequested,
    findings: Findings,
    settings: Settings,
    workdir: Path,
) -> tuple[RuntimeVerdict, dict[str, float]]:
    """Run the image in the sandbox and record every runtime rule; the verdict and timings (s).

    ``workdir`` gets this run's bundle in a subdirectory, removed at the end; the mounts live
    under /run/hspm-validator/<container id>, also removed. Cancellation cannot skip cleanup.
    """
    reason = skip_reason(facts, request, settings)
    if reason is not None:
        findings.skip(RUNTIME_RULES, reason)
        return RuntimeVerdict(status="skipped", reason=reason), {}
    cid = f"hspm-{request.run_id.hex[:12]}-{secrets.token_hex(3)}"
    sandbox = Sandbox(cid, Path(workdir) / cid, RUN_ROOT / cid, settings)
    budget = _budget(request.policy, settings)
    timings: dict[str, float] = {}
    log.info("sandbox.started", cid=cid, image=str(facts.target), digest=facts.digest)
    steps = RunSteps(sandbox, facts, request, findings, timings)
    try:
        async with asyncio.timeout(budget):
            await steps.execute()
    except TimeoutError:
        reason = f"the sandbox run exceeded its budget of {budget:.0f} s"
        findings.skip(RUNTIME_RULES, reason)
        return RuntimeVerdict(status="ran", reason=reason), timings
    except SandboxError as exc:
        findings.skip(RUNTIME_RULES, str(exc))
        return RuntimeVerdict(status="skipped", reason=str(exc)), timings
    finally:
        await finish(sandbox)
    log.info("sandbox.finished", cid=cid, timings=timings)
    if steps.not_started is not None:
        return RuntimeVerdict(status="skipped", reason=steps.not_started), timings
    return RuntimeVerdict(status="ran"), timings


def _budget(policy: ValidationPolicy, settings: Settings) -> float:
    """Every phase's own bound added up, kept under the run's whole budget (resolve and pull too)."""
    smoke = 4 * 2 * HTTP_TIMEOUT
    phases = UNPACK_TIMEOUT + START_TIMEOUT + policy.startup_seconds + settings.soak_seconds + smoke
    return min(phases + policy.stop_grace_seconds + 2 * COMMAND_TIMEOUT, 0.9 * settings.run_timeout)
