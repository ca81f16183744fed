"""The steps of one sandboxed run, in order, each recording the runtime rules it decides.

Every host object a step creates (mount, cgroup, container, namespace handle) is put on the
run's ``Sandbox`` as soon as it exists, so cleanup (``runstate.finish``) undoes exactly that
whatever step the run stopped at. What outlived the container is judged in ``aftermath``.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import secrets
import shlex
import stat
import time
from collections.abc import Mapping

import structlog

from hspm.common.events.curation import ValidationRequested
from hspm.common.events.validator import RUNTIME_RULES
from hspm.validator.facts import HEALTH_LABEL, ImageFacts
from hspm.validator.report import Findings
from hspm.validator.sandbox import aftermath, hostio, netns
from hspm.validator.sandbox.bundle import default_task, healthcheck_argv, patch_config
from hspm.validator.sandbox.cgroups import CgroupLayout, RunCgroup
from hspm.validator.sandbox.hostio import COMMAND_TIMEOUT
from hspm.validator.sandbox.mounts import (
    MS_BIND,
    MS_NODEV,
    MS_NOSUID,
    list_writes,
    mount,
    overlay_available,
    overlay_options,
)
from hspm.validator.sandbox.runstate import Sandbox
from hspm.validator.smoke.http import HttpResponse
from hspm.validator.smoke.probes import run_smoke

log = structlog.get_logger(__name__)

# Container ids 0-65535 map to host ids BASE + slot * 65536 + id: a range of its own per run.
ID_BASE, ID_SLOTS, ID_SIZE = 1 << 28, 4096, 65536
HEALTH_PATHS = ("/health", "/healthz", "/")
DEFAULT_PORT = 8080
UNPACK_TIMEOUT, START_TIMEOUT, HTTP_TIMEOUT = 120.0, 15.0, 5.0
LOG_EVIDENCE = 1500


class SandboxError(Exception):
    """The host could not set the sandbox up (a mount or cgroup refused): nothing was judged."""


class RunSteps:
    """The steps of one sandboxed run, in order; each records the rules it decides."""

    def __init__(
        self,
        sandbox: Sandbox,
        facts: ImageFacts,
        request: ValidationRequested,
        findings: Findings,
        timings: dict[str, float],
    ) -> None:
        self.sb = sandbox
        self.facts = facts
        self.policy = request.policy
        self.request = request
        self.findings = findings
        self.timings = timings
        self.task = default_task(request)
        self.overlay = False
        self.started_at = 0.0
        self.not_started: str | None = None  # why no container was ever started

    async def execute(self) -> None:
        if not await self.prepare():
            return
        if await self.start() is None:
            self.judge_no_start()
        else:
            if await self.become_healthy():
                await self.soak_and_smoke()
            else:
                self.findings.skip(_SMOKE, "not probed: the container never became healthy")
            await self.stop()
        await self.judge_aftermath()

    # -- preparation

    async def prepare(self) -> bool:
        """Unpack, mount the root, write config.json, make the cgroup; False if the image can't run."""
        args = self.facts.entrypoint + self.facts.cmd
        if not args:
            self._not_run("the image declares neither ENTRYPOINT nor CMD: there is no process to start")
            return False
        t0 = time.monotonic()
        slot = ID_BASE + secrets.randbelow(ID_SLOTS) * ID_SIZE
        await asyncio.to_thread(self.sb.base.mkdir, parents=True, mode=0o700)
        ids = f"0:{slot}:{ID_SIZE}"
        image = f"{self.facts.layout}:img"
        unpack = [self.sb.settings.umoci, "unpack", f"--uid-map={ids}", f"--gid-map={ids}", "--image", image]
        rc, out = await hostio.command([*unpack, str(self.sb.bundle)], UNPACK_TIMEOUT)
        self.timings["unpack"] = round(time.monotonic() - t0, 3)
        if rc != 0:
            self._not_run(f"umoci unpack failed (exit {rc}): {out.strip()[-LOG_EVIDENCE:]}")
            return False
        try:
            await asyncio.to_thread(self._set_up, args)
        except OSError as exc:
            raise SandboxError(f"sandbox setup failed: {exc}") from exc
        return True

    def _set_up(self, args: list[str]) -> None:
        """The blocking part of preparation: mounts, cgroup, config.json."""
        self._mount_root()
        layout = CgroupLayout.detect()
        if isinstance(layout, str):
            raise OSError(errno.ENOENT, layout)
        self.sb.cgroup = RunCgroup(layout, self.sb.settings.cgroup_parent, self.sb.cid)
        self.sb.cgroup.create(self.memory_bytes, self.policy.pids_limit)
        path = self.sb.bundle / "config.json"
        config = json.loads(path.read_text())
        patched = patch_config(config, self.facts, self.task, self.policy, self.sb, args, self.overlay)
        path.write_text(json.dumps(patched))

    @property
    def memory_bytes(self) -> int:
        declared = self.task.memory_maximum if self.task and self.task.memory_maximum else None
        return min(declared or self.policy.default_memory_mib, self.policy.max_memory_mib) * aftermath.MIB

    def _mount_root(self) -> None:
        """A bounded tmpfs for the run's writable state, and the container's root on it."""
        self.sb.scratch.mkdir(mode=0o711, parents=True)
        opts = f"size={self.policy.tmpfs_mib}m,nr_inodes=65536,mode=0711"
        mount("tmpfs", self.sb.scratch, "tmpfs", MS_NOSUID | MS_NODEV, opts)
        self.sb.mounts.append(self.sb.scratch)
        for name in ("upper", "work", "root"):
            (self.sb.scratch / name).mkdir(mode=0o700)
        lower = self.sb.bundle / "rootfs"
        # The merged root takes the upper dir's owner and mode: make them the image's root's.
        st = lower.stat()
        for path in (self.sb.upper, self.sb.root):
            os.chown(path, st.st_uid, st.st_gid)
            os.chmod(path, stat.S_IMODE(st.st_mode))
        self.overlay = overlay_available() is None and not set(str(lower)) & {",", ":", "\\"}
        if self.overlay:
            mount("overlay", self.sb.root, "overlay", 0, overlay_options(self.sb.scratch, lower))
        else:  # read-only root (runc remounts it so): nothing is captured, nothing is changed
            mount(str(lower), self.sb.root, "", MS_BIND, "")
        self.sb.mounts.append(self.sb.root)

    def _not_run(self, why: str) -> None:
        self.not_started = why
        self.findings.record("runtime.starts", "fail", why)
        self.findings.skip(RUNTIME_RULES, "the container was not started")

    # -- start and health

    async def start(self) -> int | None:
        """``runc run`` in its own session; the container's pid once running, else None."""
        t0 = time.monotonic()
        log_fd = await asyncio.to_thread(hostio.open_log, self.sb.log_path)
        try:
            self.sb.container_created = True
            self.sb.proc = await asyncio.create_subprocess_exec(
                self.sb.settings.runc, "run", "--bundle", str(self.sb.bundle), self.sb.cid,
                stdin=asyncio.subprocess.DEVNULL, stdout=log_fd, stderr=log_fd, start_new_session=True,
            )  # fmt: skip
        finally:
            os.close(log_fd)
        self.started_at = time.monotonic()
        pid = await self._wait_running()
        self.timings["start"] = round(time.monotonic() - t0, 3)
        if pid is not None:
            try:
                self.sb.netns_fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                return None
        return pid

    async def _wait_running(self) -> int | None:
        deadline = time.monotonic() + START_TIMEOUT
        while not self.sb.exited and time.monotonic() < deadline:
            rc, out = await hostio.command([self.sb.settings.runc, "state", self.sb.cid], COMMAND_TIMEOUT)
            state = hostio.json_object(out) if rc == 0 else {}
            if state.get("status") == "running" and isinstance(state.get("pid"), int):
                return int(state["pid"])
            await asyncio.sleep(0.02)
        return None

    def judge_no_start(self) -> None:
        if self.sb.exited:
            self.judge_early_exit()
            return
        self.findings.record(
            "runtime.starts",
            "fail",
            f"not running {START_TIMEOUT:g} s after runc run; log: {self._log_tail()}",
        )
        self.findings.skip(["runtime.healthy", "runtime.stop", *_SMOKE], "the container did not start")

    def judge_early_exit(self) -> None:
        code = self.sb.proc.returncode if self.sb.proc else None
        after = time.monotonic() - self.started_at
        why = f"the container exited with code {code} after {after:.1f} s; log: {self._log_tail()}"
        self.findings.record("runtime.starts", "fail", why)
        self.findings.skip(
            ["runtime.healthy", "runtime.stop", *_SMOKE], "the container exited before it was healthy"
        )

    async def become_healthy(self) -> bool:
        """Probe until healthy or policy.startup_seconds pass; records healthy (or starts, if it died)."""
        t0 = time.monotonic()
        deadline = t0 + self.policy.startup_seconds
        argv = healthcheck_argv(self.facts.healthcheck)
        delay, tried, ok = 0.1, "nothing", False
        while not self.sb.exited:
            remaining = deadline - time.monotonic()
            ok, tried = await (self._exec_probe(argv, remaining) if argv else self._http_probe(remaining))
            remaining = deadline - time.monotonic()
            if ok or remaining <= 0:
                break
            await asyncio.sleep(min(delay, remaining))
            delay = min(delay * 2, 1.0)
        took = time.monotonic() - t0
        self.timings["healthy"] = round(took, 3)
        if ok:
            self.findings.record(
                "runtime.healthy", "pass", f"healthy after {took:.2f} s: {tried}", took * 1000
            )
        elif self.sb.exited:
            self.judge_early_exit()
        else:
            budget = f"{self.policy.startup_seconds:g} s"
            self.findings.record(
                "runtime.healthy", "fail", f"not healthy within {budget}; last try: {tried}", took * 1000
            )
        return ok

    async def _exec_probe(self, argv: list[str], remaining: float) -> tuple[bool, str]:
        timeout = max(0.5, min(remaining, self._healthcheck_timeout()))
        rc, out = await hostio.command([self.sb.settings.runc, "exec", self.sb.cid, *argv], timeout)
        detail = out.strip()[-300:]
        return rc == 0, f"HEALTHCHECK {shlex.join(argv)} → exit {rc}" + (f": {detail}" if detail else "")

    def _healthcheck_timeout(self) -> float:
        check = self.facts.container.get("Healthcheck")
        nanos = check.get("Timeout") if isinstance(check, dict) else None
        return min(nanos / 1e9, COMMAND_TIMEOUT) if isinstance(nanos, int) and nanos > 0 else COMMAND_TIMEOUT

    async def _http_probe(self, remaining: float) -> tuple[bool, str]:
        label = self.facts.labels.get(HEALTH_LABEL)
        paths = ["/" + label.lstrip("/")] if label else list(HEALTH_PATHS)
        answers = []
        for path in paths:
            try:
                resp = await self.fetch(path, {}, timeout=max(0.5, min(remaining, 2.0)))
            except (OSError, TimeoutError, ValueError) as exc:
                answers.append(f"GET :{self.port}{path} → {hostio.why(exc)}")
                continue
            answers.append(f"GET :{self.port}{path} → {resp.status}")
            if 200 <= resp.status < 300:
                return True, answers[-1]
        return False, "; ".join(answers)

    @property
    def port(self) -> int:
        if self.task and self.task.ports:
            return self.task.ports[0]
        return min(self.facts.exposed_ports, default=DEFAULT_PORT)

    async def fetch(
        self, path: str, headers: Mapping[str, str], timeout: float = HTTP_TIMEOUT
    ) -> HttpResponse:
        """GET from the container's port, over a socket made inside its network namespace."""
        assert self.sb.netns_fd is not None
        return await netns.http_get(self.sb.netns_fd, self.port, path, headers, timeout=timeout)

    # -- soak, smoke, stop

    async def soak_and_smoke(self) -> None:
        # Watching a healthy container for a while is what catches late crashes and
        # memory hogs; it is idle time, so it costs latency, not throughput per core.
        t0 = time.monotonic()
        await self._wait_exit(self.sb.settings.soak_seconds)
        self.timings["soak"] = round(time.monotonic() - t0, 3)
        t0 = time.monotonic()
        if not self.sb.exited:
            await run_smoke(self.request.exposures, self.fetch, self.findings)
        self.timings["smoke"] = round(time.monotonic() - t0, 3)
        if self.sb.exited:
            code = self.sb.proc.returncode if self.sb.proc else None
            after = time.monotonic() - self.started_at
            why = f"healthy, then exited with code {code} {after:.1f} s after start; log: {self._log_tail()}"
            self.findings.record("runtime.starts", "fail", why)
            self.findings.skip(["runtime.stop", *_SMOKE], "the container had already exited")

    async def stop(self) -> None:
        """SIGTERM; SIGKILL if still running after the grace period. Records starts and stop."""
        assert self.sb.cgroup is not None
        if self.sb.exited:
            return
        alive_for = time.monotonic() - self.started_at
        self.findings.record("runtime.starts", "pass", f"running for {alive_for:.1f} s as declared")
        self.sb.cgroup.snapshot_leaf()
        t0 = time.monotonic()
        await hostio.command([self.sb.settings.runc, "kill", self.sb.cid, "TERM"], COMMAND_TIMEOUT)
        grace = self.policy.stop_grace_seconds
        if await self._wait_exit(grace):
            took = time.monotonic() - t0
            code = self.sb.proc.returncode if self.sb.proc else None
            self.findings.record(
                "runtime.stop", "pass", f"exited with code {code} {took:.2f} s after SIGTERM", took * 1000
            )
        else:
            await hostio.command([self.sb.settings.runc, "kill", self.sb.cid, "KILL"], COMMAND_TIMEOUT)
            await self._wait_exit(COMMAND_TIMEOUT)
            took = time.monotonic() - t0
            self.findings.record(
                "runtime.stop",
                "fail",
                f"still running {grace:g} s after SIGTERM; killed with SIGKILL",
                took * 1000,
            )
        self.timings["stop"] = round(time.monotonic() - t0, 3)

    async def _wait_exit(self, timeout: float) -> bool:
        """Whether runc (so the container) exited within ``timeout`` seconds."""
        assert self.sb.proc is not None
        try:
            await asyncio.wait_for(self.sb.proc.wait(), timeout)
        except TimeoutError:
            return False
        return True

    # -- judging what outlived the container

    async def judge_aftermath(self) -> None:
        """Logs, memory, processes and filesystem, from the log, the run's cgroup and the upper layer."""
        assert self.sb.cgroup is not None
        record = self.findings.record
        head = await asyncio.to_thread(hostio.read_head, self.sb.log_path)
        record("runtime.logs", *aftermath.judge_logs(head))
        usage = await asyncio.to_thread(self.sb.cgroup.usage)
        record("runtime.memory", *aftermath.judge_memory(usage))
        record("runtime.processes", *aftermath.judge_processes(usage))
        if self.overlay:
            writes = await asyncio.to_thread(list_writes, self.sb.upper, self.sb.bundle / "rootfs")
            record("runtime.filesystem", *aftermath.judge_writes(writes))
        else:
            why = overlay_available() or "paths unusable as overlay options"
            evidence = f"could not observe writes ({why}); the image ran read-only"
            record("runtime.filesystem", "warning", evidence)

    def _log_tail(self) -> str:
        return hostio.read_tail(self.sb.log_path, LOG_EVIDENCE).strip() or "(empty)"


_SMOKE: list[str] = [r for r in RUNTIME_RULES if r.startswith("smoke.")]
