"""The run's cgroup on the host: where the memory and pids controllers live, and what the run used.

The limits sit on a node of the run's own (``<parent>/<run>``) above runc's leaf, so the kernel
counts the failures there and the counters survive runc deleting the leaf; v1 hierarchies and a
cgroup2 tree are both handled here, so the run steps never see which one the host has. Removing
the node waits, within ``RMDIR_PATIENCE``, for a killed container's last processes, since a
cgroup cannot be removed while it holds any. This is the one part of the sandbox that speaks the
kernel's cgroup files, which is why it stands apart from the run steps.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from hspm.validator.sandbox.hostio import read_or_empty

CGROUP_ROOT = Path("/sys/fs/cgroup")
RMDIR_PATIENCE = 5.0  # for all of a run's cgroups together: a killed container's processes exit fast


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
            controllers = read_or_empty(CGROUP_ROOT / "cgroup.controllers").split()
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
            "oom_kills": _field(read_or_empty(leaf_memory / "memory.oom_control"), "oom_kill"),
            "pids_refused": _field(read_or_empty(leaf_pids / "pids.events"), "max"),
        }

    def usage(self) -> Usage:
        leaf = self.leaf_snapshot
        if self.layout.v2:
            events = read_or_empty(self.memory / "memory.events")
            failcnt, peak = _field(events, "max"), _int(read_or_empty(self.memory / "memory.peak"))
            oom, limit = _field(events, "oom_kill"), _int(read_or_empty(self.memory / "memory.max"))
        else:
            failcnt = max(
                _int(read_or_empty(self.memory / f)) for f in ("memory.failcnt", "memory.memsw.failcnt")
            )
            peak = max(
                _int(read_or_empty(self.memory / f))
                for f in ("memory.max_usage_in_bytes", "memory.memsw.max_usage_in_bytes")
            )
            oom = _field(read_or_empty(self.memory / "memory.oom_control"), "oom_kill")
            limit = _int(read_or_empty(self.memory / "memory.limit_in_bytes"))
        return Usage(
            memory_limit=limit,
            memory_peak=peak,
            memory_failcnt=failcnt,
            oom_kills=max(oom, leaf.get("oom_kills", 0)),
            pids_limit=_int(read_or_empty(self.pids / "pids.max")),
            pids_peak=_int(read_or_empty(self.pids / "pids.peak")),
            pids_refused=max(
                _field(read_or_empty(self.pids / "pids.events"), "max"), leaf.get("pids_refused", 0)
            ),
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
    for line in read_or_empty(Path("/proc/self/mountinfo")).splitlines():
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
        for pid in read_or_empty(path / "cgroup.procs").split():
            with contextlib.suppress(OSError):
                os.kill(int(pid), signal.SIGKILL)
        time.sleep(0.05)


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
