"""The runtime phase: run the image under runc in a sandbox and judge what it does.

One run: ``umoci unpack`` the verified image layout (ids shifted into a private range) →
mount a size-bounded tmpfs holding an overlayfs upper layer over the unpacked rootfs, so the
image itself stays untouched and every write is captured → patch ``config.json`` (user
namespace, no network, minimal capabilities, seccomp deny-list, limits) → create the run's
own cgroup with the memory and pids limits → ``runc run`` → health (HEALTHCHECK via ``runc
exec``, else HTTP inside the container's network namespace) → soak → smoke tests → SIGTERM,
then SIGKILL after the grace period → judge memory, processes, filesystem and logs from what
outlives the container. Cleanup runs on a thread that cancellation cannot interrupt.

Hosts that cannot sandbox (not root, no runc/umoci, no writable memory cgroup, a foreign
architecture) get every runtime rule skipped with the exact reason, never a pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import functools
import json
import os
import platform
import re
import secrets
import shlex
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from hspm.common.events.catalog import EnvironmentVariable, TaskSnapshot
from hspm.common.events.curation import ValidationPolicy, ValidationRequested
from hspm.common.events.validator import RUNTIME_RULES, RuntimeVerdict
from hspm.validator import netns
from hspm.validator.config import Settings
from hspm.validator.facts import ImageFacts
from hspm.validator.report import Findings
from hspm.validator.smoke import run_smoke

log = structlog.get_logger(__name__)

HOST_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
CGROUP_ROOT = Path("/sys/fs/cgroup")
# Mount points live here, not in the work dir: the container's root (a host uid in the
# shifted range) resolves its root path itself and needs search permission on every
# ancestor, and work dirs from mkdtemp are 0700.
RUN_ROOT = Path("/run/hspm-validator")
MIB = 1024 * 1024
# Container ids 0-65535 map to host ids BASE + slot * 65536 + id: a range of its own per run.
ID_BASE, ID_SLOTS, ID_SIZE = 1 << 28, 4096, 65536
HEALTH_LABEL = "org.hl7.hspm.health-path"
HEALTH_PATHS = ("/health", "/healthz", "/")
DEFAULT_PORT = 8080
UNPACK_TIMEOUT, START_TIMEOUT, COMMAND_TIMEOUT, HTTP_TIMEOUT = 120.0, 15.0, 10.0, 5.0
LOG_EVIDENCE = 1500
COMMAND_OUTPUT = 8192
RMDIR_PATIENCE = 5.0  # for all of a run's cgroups together: a killed container's processes exit fast
MAX_LISTED_WRITES = 20
CPU_PERIOD = 100_000
# Candidate values for a declared variable without a default; the first its pattern accepts.
TEST_VALUES = (
    "hspm-validation",
    "http://hspm-validation.invalid",
    "https://hspm-validation.invalid",
    "8080",
    "1",
    "true",
    "HSPM_VALIDATION",
    "validation@hspm.invalid",
    "127.0.0.1",
    "localhost:8080",
    "postgresql://hspm@127.0.0.1:5432/hspm",
)
# runc's own defaults (``runc spec``): keep kernel internals out of the container's /proc and /sys.
MASKED_PATHS = [
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/sys/firmware",
    "/proc/scsi",
]
READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
# Fewer than umoci's defaults: AUDIT_WRITE is dropped and nothing is inheritable or ambient,
# so a non-root process has no capability at all. Low ports work through the sysctl below.
CAPABILITIES = ["CAP_KILL", "CAP_NET_BIND_SERVICE"]
# Defence in depth on top of the capability set: no nested namespaces, mounts, keyrings,
# kernel modules, BPF or perf. clone3 answers ENOSYS so libc falls back to clone, whose
# flags a filter can see.
DENIED_SYSCALLS = [
    "acct", "add_key", "bpf", "delete_module", "finit_module", "fsconfig", "fsmount", "fsopen",
    "fspick", "init_module", "kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie", "mount",
    "move_mount", "name_to_handle_at", "open_by_handle_at", "open_tree", "perf_event_open",
    "pivot_root", "quotactl", "reboot", "request_key", "setns", "swapoff", "swapon", "umount2",
    "unshare", "userfaultfd",
]  # fmt: skip
CLONE_NEWUSER = 0x10000000
SECCOMP_ARCHES = {
    "amd64": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    "arm64": ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
}

MS_NOSUID, MS_NODEV, MS_BIND, MNT_DETACH = 0x2, 0x4, 0x1000, 0x2
_libc = ctypes.CDLL(None, use_errno=True)


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
    if _read(Path("/proc/sys/user/max_user_namespaces")).strip() == "0":
        return "user namespaces are disabled (user.max_user_namespaces is 0)"
    try:
        RUN_ROOT.mkdir(mode=0o711, parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot create {RUN_ROOT}: {exc.strerror}"
    problem = overlay_available()
    return problem if problem is not None and problem.startswith("tmpfs") else None


@functools.cache
def overlay_available() -> str | None:
    """Why overlayfs over tmpfs cannot be mounted here, or None (tried once, for real)."""
    with tempfile.TemporaryDirectory(prefix="overlay-probe-", dir=RUN_ROOT) as tmp:
        scratch = Path(tmp)
        try:
            _mount("tmpfs", scratch, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0700")
        except OSError as exc:
            return f"tmpfs: {exc.strerror}"
        try:
            for d in ("lower", "upper", "work", "root"):
                (scratch / d).mkdir()
            _mount("overlay", scratch / "root", "overlay", 0, _overlay_options(scratch))
            _umount(scratch / "root")
        except OSError as exc:
            return f"overlayfs: {exc.strerror}"
        finally:
            _umount(scratch)
    return None


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


# --- cgroups ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CgroupLayout:
    """Where the memory and pids controllers live: v1 hierarchies, or one cgroup2 tree."""

    memory: Path
    pids: Path
    v2: bool

    @staticmethod
    def detect() -> CgroupLayout | str:
        """The writable layout, or why there is none."""
        if (CGROUP_ROOT / "cgroup.controllers").exists():
            controllers = _read(CGROUP_ROOT / "cgroup.controllers").split()
            if "memory" not in controllers or "pids" not in controllers:
                return "cgroup v2 without the memory and pids controllers"
            layout = CgroupLayout(CGROUP_ROOT, CGROUP_ROOT, v2=True)
        elif (CGROUP_ROOT / "memory" / "memory.limit_in_bytes").exists():
            if not (CGROUP_ROOT / "pids" / "cgroup.procs").exists():
                return "no pids cgroup hierarchy at /sys/fs/cgroup/pids"
            layout = CgroupLayout(CGROUP_ROOT / "memory", CGROUP_ROOT / "pids", v2=False)
        else:
            return "no memory cgroup: neither /sys/fs/cgroup/memory (v1) nor a cgroup v2 with memory"
        for path in {layout.memory, layout.pids}:
            if not os.access(path, os.W_OK):
                return f"{path} is not writable"
        return layout


@dataclass(frozen=True)
class Usage:
    """What the run's cgroup saw: memory and process peaks against the limits."""

    memory_limit: int
    memory_peak: int
    memory_failcnt: int
    oom_kills: int
    pids_limit: int
    pids_peak: int
    pids_refused: int

    @property
    def memory_hit(self) -> bool:
        # v1 leaves failcnt at 0 when the memsw limit (equal to the memory one) trips first,
        # and counts OOM kills only in the leaf runc deletes: a peak at the limit is the
        # signal that survives; a limit is never exceeded, only reached.
        reached = self.memory_limit > 0 and self.memory_peak >= self.memory_limit
        return reached or self.memory_failcnt > 0 or self.oom_kills > 0

    @property
    def pids_hit(self) -> bool:
        return self.pids_refused > 0 or (self.pids_limit > 0 and self.pids_peak >= self.pids_limit)


class RunCgroup:
    """The run's own cgroup ``<parent>/<run>``, holding runc's leaf ``ctr``.

    The limits sit on this node rather than the leaf: the kernel charges the leaf first, so
    only the node whose limit is hit counts the failures, and this node's counters (failcnt,
    peak usage, peak pids) survive runc deleting the leaf when the container exits.
    """

    def __init__(self, layout: CgroupLayout, parent: str, run: str) -> None:
        self.layout = layout
        self.relative = f"{parent.strip('/')}/{run}"
        self.memory = layout.memory / self.relative
        self.pids = layout.pids / self.relative
        self.leaf_snapshot: dict[str, int] = {}

    @property
    def runc_path(self) -> str:
        return f"/{self.relative}/ctr"

    def create(self, memory_bytes: int, pids_max: int) -> None:
        for path in (self.memory, self.pids):
            path.mkdir(parents=True, exist_ok=True)
        if self.layout.v2:
            # Each level hands the controllers down to the next (the root's are usually on).
            node = CGROUP_ROOT
            for part in [*self.relative.split("/"), ""]:
                _write(node / "cgroup.subtree_control", "+memory +pids")
                node = node / part if part else node
            _write(self.memory / "memory.max", str(memory_bytes))
            _write(self.memory / "memory.swap.max", "0")
        else:
            _write(self.memory / "memory.limit_in_bytes", str(memory_bytes))
            if (self.memory / "memory.memsw.limit_in_bytes").exists():
                _write(self.memory / "memory.memsw.limit_in_bytes", str(memory_bytes))
        _write(self.pids / "pids.max", str(pids_max))

    def snapshot_leaf(self) -> None:
        """Read the leaf's own counters while it exists (v1 counts OOM kills and refused forks there)."""
        leaf_memory, leaf_pids = self.memory / "ctr", self.pids / "ctr"
        self.leaf_snapshot = {
            "oom_kills": _field(_read(leaf_memory / "memory.oom_control"), "oom_kill"),
            "pids_refused": _field(_read(leaf_pids / "pids.events"), "max"),
        }

    def usage(self) -> Usage:
        leaf = self.leaf_snapshot
        if self.layout.v2:
            events = _read(self.memory / "memory.events")
            failcnt, peak = _field(events, "max"), _int(_read(self.memory / "memory.peak"))
            oom, limit = _field(events, "oom_kill"), _int(_read(self.memory / "memory.max"))
        else:
            failcnt = max(_int(_read(self.memory / f)) for f in ("memory.failcnt", "memory.memsw.failcnt"))
            peak = max(
                _int(_read(self.memory / f))
                for f in ("memory.max_usage_in_bytes", "memory.memsw.max_usage_in_bytes")
            )
            oom = _field(_read(self.memory / "memory.oom_control"), "oom_kill")
            limit = _int(_read(self.memory / "memory.limit_in_bytes"))
        return Usage(
            memory_limit=limit,
            memory_peak=peak,
            memory_failcnt=failcnt,
            oom_kills=max(oom, leaf.get("oom_kills", 0)),
            pids_limit=_int(_read(self.pids / "pids.max")),
            pids_peak=_int(_read(self.pids / "pids.peak")),
            pids_refused=max(_field(_read(self.pids / "pids.events"), "max"), leaf.get("pids_refused", 0)),
        )

    def remove(self) -> list[str]:
        """Remove ``<run>/ctr`` and ``<run>`` from every hierarchy runc touched; the problems left."""
        deadline = time.monotonic() + RMDIR_PATIENCE
        problems = []
        for hierarchy in _cgroup_mounts():
            for path in (hierarchy / self.relative / "ctr", hierarchy / self.relative):
                if path.exists() and not _rmdir_when_empty(path, deadline):
                    problems.append(f"cgroup {path} still busy")
        return problems


def _cgroup_mounts() -> list[Path]:
    mounts = []
    for line in _read(Path("/proc/self/mountinfo")).splitlines():
        fields = line.split(" - ", 1)
        if len(fields) == 2 and fields[1].split(" ", 1)[0] in ("cgroup", "cgroup2"):
            mounts.append(Path(fields[0].split()[4]))
    return mounts


def _rmdir_when_empty(path: Path, deadline: float) -> bool:
    """rmdir a cgroup, killing stragglers: it is EBUSY until its last process is reaped."""
    while True:
        try:
            path.rmdir()
            return True
        except FileNotFoundError:
            return True
        except OSError as exc:
            if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                return False
        for pid in _read(path / "cgroup.procs").split():
            with contextlib.suppress(OSError):
                os.kill(int(pid), signal.SIGKILL)
        time.sleep(0.05)


# --- mounts ----------------------------------------------------------------------------------


def _mount(source: str, target: Path, fstype: str, flags: int, data: str) -> None:
    rc = _libc.mount(source.encode(), os.fsencode(target), fstype.encode(), flags, data.encode())
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), str(target))


def _umount(target: Path) -> str | None:
    """Unmount, falling back to a lazy detach if busy; the problem if it stayed mounted."""
    for flags in (0, 0, MNT_DETACH):
        if _libc.umount2(os.fsencode(target), flags) == 0:
            return None
        err = ctypes.get_errno()
        if err == errno.EINVAL:  # not a mount point (any more)
            return None
        time.sleep(0.05)
    return f"umount {target}: {os.strerror(err)}"


def _overlay_options(scratch: Path, lower: Path | None = None) -> str:
    return f"lowerdir={lower or scratch / 'lower'},upperdir={scratch / 'upper'},workdir={scratch / 'work'}"


# --- one run's state -------------------------------------------------------------------------


@dataclass
class Sandbox:
    """Everything one run creates, so cleanup can undo it from any state."""

    cid: str
    base: Path  # <work dir>/<cid>: the bundle, lower layer of the overlay
    scratch: Path  # RUN_ROOT/<cid>: tmpfs with upper/, work/, root/ and the log
    settings: Settings
    cgroup: RunCgroup | None = None
    mounts: list[Path] = field(default_factory=list)
    proc: asyncio.subprocess.Process | None = None
    netns_fd: int | None = None
    container_created: bool = False

    @property
    def bundle(self) -> Path:
        return self.base / "bundle"

    @property
    def root(self) -> Path:
        return self.scratch / "root"

    @property
    def upper(self) -> Path:
        return self.scratch / "upper"

    @property
    def log_path(self) -> Path:
        return self.scratch / "container.log"

    @property
    def exited(self) -> bool:
        return self.proc is not None and self.proc.returncode is not None

    def cleanup_sync(self) -> list[str]:
        """Kill, delete, unmount, remove; blocking, so it runs on a thread. Problems left over."""
        problems: list[str] = []
        if self.container_created:
            for argv in (["kill", self.cid, "KILL"], ["delete", "--force", self.cid]):
                with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                    subprocess.run(  # noqa: S603 (argv from settings, no shell)
                        [self.settings.runc, *argv], capture_output=True, timeout=COMMAND_TIMEOUT, check=False
                    )
        if self.netns_fd is not None:
            os.close(self.netns_fd)
            self.netns_fd = None
        if self.cgroup is not None:
            problems += self.cgroup.remove()
        mounted = [problem for mount in reversed(self.mounts) if (problem := _umount(mount))]
        # Never walk into a mount that is still there: removing through it would edit the image.
        for path in (self.base, self.scratch) if not mounted else (self.base,):
            shutil.rmtree(path, ignore_errors=True)
            if path.exists():
                problems.append(f"{path} not removed")
        return problems + mounted


async def _finish(sandbox: Sandbox) -> None:
    """Clean up even if this task is cancelled meanwhile; re-raise the cancellation after."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # the coroutine is being closed with no loop (abandoned): clean up now
        sandbox.cleanup_sync()
        return
    cancelled = False
    job = asyncio.ensure_future(asyncio.to_thread(sandbox.cleanup_sync))
    while not job.done():
        try:
            await asyncio.shield(job)
        except asyncio.CancelledError:
            cancelled = True
    problems = job.result() if not job.cancelled() and job.exception() is None else ["cleanup interrupted"]
    if sandbox.proc is not None and sandbox.proc.returncode is None:
        reap = asyncio.ensure_future(_reap(sandbox.proc))
        while not reap.done():
            try:
                await asyncio.shield(reap)
            except asyncio.CancelledError:
                cancelled = True
    if problems:
        log.warning("sandbox.cleanup_incomplete", cid=sandbox.cid, problems=problems)
    if cancelled:
        raise asyncio.CancelledError


async def _reap(proc: asyncio.subprocess.Process) -> None:
    try:
        await asyncio.wait_for(proc.wait(), COMMAND_TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()


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
    steps = _Run(sandbox, facts, request, findings, timings)
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
        await _finish(sandbox)
    log.info("sandbox.finished", cid=cid, timings=timings)
    if steps.not_started is not None:
        return RuntimeVerdict(status="skipped", reason=steps.not_started), timings
    return RuntimeVerdict(status="ran"), timings


class SandboxError(Exception):
    """The host could not set the sandbox up (a mount or cgroup refused): nothing was judged."""


def _budget(policy: ValidationPolicy, settings: Settings) -> float:
    """Every phase's own bound added up, kept under the run's whole budget (resolve and pull too)."""
    smoke = 4 * 2 * HTTP_TIMEOUT
    phases = UNPACK_TIMEOUT + START_TIMEOUT + policy.startup_seconds + settings.soak_seconds + smoke
    return min(phases + policy.stop_grace_seconds + 2 * COMMAND_TIMEOUT, 0.9 * settings.run_timeout)


class _Run:
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
        rc, out = await _command([*unpack, str(self.sb.bundle)], UNPACK_TIMEOUT)
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
        return min(declared or self.policy.default_memory_mib, self.policy.max_memory_mib) * MIB

    def _mount_root(self) -> None:
        """A bounded tmpfs for the run's writable state, and the container's root on it."""
        self.sb.scratch.mkdir(mode=0o711, parents=True)
        opts = f"size={self.policy.tmpfs_mib}m,nr_inodes=65536,mode=0711"
        _mount("tmpfs", self.sb.scratch, "tmpfs", MS_NOSUID | MS_NODEV, opts)
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
            _mount("overlay", self.sb.root, "overlay", 0, _overlay_options(self.sb.scratch, lower))
        else:  # read-only root (runc remounts it so): nothing is captured, nothing is changed
            _mount(str(lower), self.sb.root, "", MS_BIND, "")
        self.sb.mounts.append(self.sb.root)

    def _not_run(self, why: str) -> None:
        self.not_started = why
        self.findings.record("runtime.starts", "fail", why)
        self.findings.skip(RUNTIME_RULES, "the container was not started")

    # -- start and health

    async def start(self) -> int | None:
        """``runc run`` in its own session; the container's pid once running, else None."""
        t0 = time.monotonic()
        log_fd = await asyncio.to_thread(_open_log, self.sb.log_path)
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
            rc, out = await _command([self.sb.settings.runc, "state", self.sb.cid], COMMAND_TIMEOUT)
            state = _json_object(out) if rc == 0 else {}
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
        rc, out = await _command([self.sb.settings.runc, "exec", self.sb.cid, *argv], timeout)
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
                answers.append(f"GET :{self.port}{path} → {_why(exc)}")
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
    ) -> netns.HttpResponse:
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
        await _command([self.sb.settings.runc, "kill", self.sb.cid, "TERM"], COMMAND_TIMEOUT)
        grace = self.policy.stop_grace_seconds
        if await self._wait_exit(grace):
            took = time.monotonic() - t0
            code = self.sb.proc.returncode if self.sb.proc else None
            self.findings.record(
                "runtime.stop", "pass", f"exited with code {code} {took:.2f} s after SIGTERM", took * 1000
            )
        else:
            await _command([self.sb.settings.runc, "kill", self.sb.cid, "KILL"], COMMAND_TIMEOUT)
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
        self._judge_logs(await asyncio.to_thread(_read_head, self.sb.log_path))
        self._judge_usage(await asyncio.to_thread(self.sb.cgroup.usage))
        if self.overlay:
            writes = await asyncio.to_thread(list_writes, self.sb.upper, self.sb.bundle / "rootfs")
            self._judge_writes(writes)
        else:
            why = overlay_available() or "paths unusable as overlay options"
            self.findings.record(
                "runtime.filesystem", "warning", f"could not observe writes ({why}); the image ran read-only"
            )

    def _judge_logs(self, head: tuple[int, str]) -> None:
        size, text = head
        if size:
            first = (text.splitlines() or [""])[0][:200]
            self.findings.record(
                "runtime.logs", "pass", f"{size} bytes on stdout/stderr; first line: {first}"
            )
        else:
            self.findings.record("runtime.logs", "warning", "nothing on stdout/stderr during the whole run")

    def _judge_usage(self, usage: Usage) -> None:
        peak = f"peak {usage.memory_peak / MIB:.1f} MiB of the {usage.memory_limit / MIB:.0f} MiB limit"
        if usage.memory_hit:
            kills = f", {usage.oom_kills} OOM kill(s) seen" if usage.oom_kills else ""
            self.findings.record("runtime.memory", "fail", f"hit its memory limit: {peak}{kills}")
        else:
            self.findings.record("runtime.memory", "pass", peak)
        if usage.pids_hit:
            hits = f"peak {usage.pids_peak}, {usage.pids_refused} forks refused"
            self.findings.record(
                "runtime.processes", "fail", f"hit the limit of {usage.pids_limit} processes ({hits})"
            )
        else:
            self.findings.record(
                "runtime.processes", "pass", f"peak {usage.pids_peak} of {usage.pids_limit} processes"
            )

    def _judge_writes(self, writes: list[str]) -> None:
        if not writes:
            self.findings.record("runtime.filesystem", "pass", "wrote nothing outside /tmp")
            return
        listed = ", ".join(writes[:MAX_LISTED_WRITES])
        more = f" and {len(writes) - MAX_LISTED_WRITES} more" if len(writes) > MAX_LISTED_WRITES else ""
        self.findings.record("runtime.filesystem", "fail", f"wrote outside /tmp: {listed}{more}")

    def _log_tail(self) -> str:
        return _read_tail(self.sb.log_path, LOG_EVIDENCE).strip() or "(empty)"


_SMOKE: list[str] = [r for r in RUNTIME_RULES if r.startswith("smoke.")]


def _open_log(path: Path) -> int:
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)


def _read_head(path: Path, size: int = 512) -> tuple[int, str]:
    """The log's size and first bytes."""
    try:
        with open(path, "rb") as f:
            return os.fstat(f.fileno()).st_size, f.read(size).decode("utf-8", "replace")
    except OSError:
        return 0, ""


def _read_tail(path: Path, size: int) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.fstat(f.fileno()).st_size - size))
            return f.read(size).decode("utf-8", "replace")
    except OSError:
        return ""


# --- config.json -----------------------------------------------------------------------------

# Mount points runc makes in the root when the image lacks them; not the image's writes.
IGNORED_DIRS = frozenset({"/proc", "/dev", "/sys", "/tmp"})  # noqa: S108 (container paths)


def patch_config(
    config: dict[str, Any],
    facts: ImageFacts,
    task: TaskSnapshot | None,
    policy: ValidationPolicy,
    sandbox: Sandbox,
    args: list[str],
    overlay: bool,
) -> dict[str, Any]:
    """umoci's config.json made into the sandbox's: process, root, mounts, limits, confinement."""
    assert sandbox.cgroup is not None
    process = config["process"]
    image_env = [e for e in process.get("env", []) if not e.startswith("TERM=") or e in facts.env]
    process.update(
        terminal=False,
        args=args,
        env=environment(image_env, task),
        capabilities={k: list(CAPABILITIES) for k in ("bounding", "effective", "permitted")},
        noNewPrivileges=True,
        oomScoreAdj=1000,
        rlimits=[
            {"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024},
            {"type": "RLIMIT_CORE", "hard": 0, "soft": 0},
        ],
    )
    config["root"] = {"path": str(sandbox.root), "readonly": not overlay}
    config["hostname"] = "hspm-sandbox"
    tmp = {
        "destination": "/tmp",  # noqa: S108 (the container's own, a private tmpfs)
        "type": "tmpfs",
        "source": "tmpfs",
        "options": ["nosuid", "nodev", "mode=1777", f"size={policy.tmpfs_mib}m"],
    }
    config["mounts"] = [m for m in config.get("mounts", []) if m.get("destination") != tmp["destination"]]
    config["mounts"].append(tmp)
    linux = config.setdefault("linux", {})
    linux.update(
        cgroupsPath=sandbox.cgroup.runc_path,
        resources={
            "devices": [{"allow": False, "access": "rwm"}],
            "cpu": {"quota": max(1000, int(policy.cpu_cores * CPU_PERIOD)), "period": CPU_PERIOD},
        },
        maskedPaths=list(MASKED_PATHS),
        readonlyPaths=list(READONLY_PATHS),
        # As Docker does: a non-root process may bind ports below 1024 in its own netns.
        sysctl={"net.ipv4.ip_unprivileged_port_start": "0"},
        seccomp=seccomp_profile(),
    )
    kinds = {ns.get("type") for ns in linux.get("namespaces", [])}
    missing = [k for k in ("pid", "network", "ipc", "uts", "mount", "user", "cgroup") if k not in kinds]
    linux["namespaces"] = [ns for ns in linux.get("namespaces", []) if not ns.get("path")]
    linux["namespaces"] += [{"type": k} for k in missing]
    return config


def seccomp_profile() -> dict[str, Any]:
    """Allow by default, refuse the syscalls a web service has no business making."""
    eperm = {"action": "SCMP_ACT_ERRNO", "errnoRet": errno.EPERM}
    return {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": SECCOMP_ARCHES.get(HOST_ARCH, []),
        "syscalls": [
            {"names": DENIED_SYSCALLS, **eperm},
            {
                "names": ["clone"],
                **eperm,
                "args": [
                    {
                        "index": 0,
                        "value": CLONE_NEWUSER,
                        "valueTwo": CLONE_NEWUSER,
                        "op": "SCMP_CMP_MASKED_EQ",
                    }
                ],
            },
            {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.ENOSYS},
        ],
    }


def default_task(request: ValidationRequested) -> TaskSnapshot | None:
    """The task the sandbox runs: the default configuration's first (else the first's)."""
    configs = request.configurations
    chosen = next((c for c in configs if c.default), configs[0] if configs else None)
    return chosen.tasks[0] if chosen and chosen.tasks else None


def environment(image_env: list[str], task: TaskSnapshot | None) -> list[str]:
    """The image's environment, each declared variable with a test value, PORT if ports are declared."""
    env: dict[str, str] = {}
    for entry in image_env:
        key, _, value = entry.partition("=")
        env[key] = value
    for var in task.environment if task else []:
        if var.key and "=" not in var.key and "\0" not in var.key:
            env[var.key] = test_value(var)
    if task and task.ports:
        env["PORT"] = str(task.ports[0])
    return [f"{k}={v}" for k, v in env.items()]


def test_value(var: EnvironmentVariable) -> str:
    """The declared default, else a stock value the pattern accepts, else ``hspm-validation``."""
    if var.default is not None:
        return var.default
    if var.pattern:
        try:
            pattern = re.compile(var.pattern)
        except re.error:
            return TEST_VALUES[0]
        return next((v for v in TEST_VALUES if pattern.fullmatch(v)), TEST_VALUES[0])
    return TEST_VALUES[0]


def healthcheck_argv(test: list[str] | None) -> list[str] | None:
    """A Docker HEALTHCHECK test as argv: ``CMD-SHELL x`` → ``/bin/sh -c x``, ``CMD a b`` → ``a b``."""
    if not test:
        return None
    if test[0] == "CMD-SHELL" and len(test) >= 2:
        return ["/bin/sh", "-c", " ".join(test[1:])]
    if test[0] == "CMD" and len(test) >= 2:
        return test[1:]
    return None


# --- what the container wrote ----------------------------------------------------------------


def list_writes(
    upper: Path, lower: Path, ignored: frozenset[str] = IGNORED_DIRS, cap: int = 1000
) -> list[str]:
    """What the overlay's upper layer holds, as container paths: files written, deletions, new dirs.

    Directories that exist below were only copied up on the way to a file and say nothing
    themselves; the empty mount points runc makes when the image lacks them are ignored.
    Nothing here follows a link: the paths are the container's to choose.
    """
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(upper):
        relative = os.path.relpath(dirpath, upper)
        base = "/" if relative == "." else "/" + relative
        for name in sorted(dirnames + filenames):
            path = os.path.join(base, name)
            st = os.lstat(os.path.join(dirpath, name))
            if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                found.append(f"{path} (deleted)")
            elif not stat.S_ISDIR(st.st_mode):
                found.append(path)
            elif path not in ignored and not _is_dir_below(lower, path):
                found.append(f"{path}/ (new directory)")
        if len(found) >= cap:
            break
    return sorted(found)


def _is_dir_below(lower: Path, path: str) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(lower / path.lstrip("/")).st_mode)
    except OSError:
        return False


# --- small helpers ---------------------------------------------------------------------------


async def _command(argv: list[str], timeout: float) -> tuple[int, str]:
    """Run a short command; its exit code (-1 on timeout) and the tail of its output."""
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    tail = bytearray()

    async def drain() -> int:
        # Keep only the tail: a health command inside the container decides how much it prints.
        assert proc.stdout is not None
        while chunk := await proc.stdout.read(65536):
            tail.extend(chunk)
            del tail[:-COMMAND_OUTPUT]
        return await proc.wait()

    try:
        rc = await asyncio.wait_for(drain(), timeout)
    except (TimeoutError, asyncio.CancelledError) as exc:
        proc.kill()
        await proc.wait()
        if isinstance(exc, asyncio.CancelledError):
            raise
        return -1, f"timed out after {timeout:.1f} s"
    return rc, tail.decode("utf-8", "replace")


def _why(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__


def _json_object(text: str) -> dict[str, Any]:
    try:
        doc = json.loads(text)
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _write(path: Path, value: str) -> None:
    path.write_text(value)


def _int(text: str) -> int:
    text = text.strip()
    return int(text) if text.isdigit() else 0


def _field(text: str, name: str) -> int:
    """A ``name value`` line of a flat-keyed cgroup file (memory.oom_control, pids.events)."""
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == name:
            return _int(value)
    return 0
