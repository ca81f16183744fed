"""One sandboxed run's state on the host, and undoing it from whatever state the run reached.

A run creates a runc container, a handle on its network namespace, a cgroup, mounts and two
directories, and any of them may or may not exist when it ends (finished, failed, timed out or
cancelled). Keeping them in one record, ``Sandbox``, lets one cleanup undo exactly what is
there; ``finish`` runs that cleanup on a thread and shields it, so cancelling a run cannot skip it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from hspm.validator.config import Settings
from hspm.validator.sandbox.cgroups import RunCgroup
from hspm.validator.sandbox.hostio import COMMAND_TIMEOUT
from hspm.validator.sandbox.mounts import umount

log = structlog.get_logger(__name__)


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
        mounted = [problem for mount in reversed(self.mounts) if (problem := umount(mount))]
        # Never walk into a mount that is still there: removing through it would edit the image.
        for path in (self.base, self.scratch) if not mounted else (self.base,):
            shutil.rmtree(path, ignore_errors=True)
            if path.exists():
                problems.append(f"{path} not removed")
        return problems + mounted


async def finish(sandbox: Sandbox) -> None:
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
