"""Running Debian's podman the way it works here: runc, cgroupfs, file events, low ulimits.

crun (podman's default runtime) refuses hybrid cgroup hosts, there is no systemd to manage
cgroups or journald to log events, and podman's raised rlimits cannot be set without
CAP_SYS_RESOURCE; each global flag below answers one of those. Storage is the agent's own
(``root``/``runroot``), so ``podman ps`` and prunes of other users never see its containers.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hspm.client.platform_agent.config import PodmanSettings

COMMAND_TIMEOUT = 120.0
PULL_TIMEOUT = 600.0


class PodmanError(Exception):
    """A podman command failed; the message carries its exit code and output."""


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


class Podman:
    def __init__(self, settings: PodmanSettings, env_dir: Path | None = None) -> None:
        self.settings = settings
        # Where ``run`` writes a container's environment for the moment podman reads it:
        # the agent's own directory (mode 700), emptied at start, so a file a killed agent
        # left behind (values may be secrets) never outlives the next start.
        self.env_dir = env_dir
        s = settings
        base = [s.binary, "--cgroup-manager", "cgroupfs", "--events-backend", "file", "--runtime", s.runtime]
        if s.storage_driver:
            base += ["--storage-driver", s.storage_driver]
        if s.root:
            base += ["--root", s.root]
        if s.runroot:
            base += ["--runroot", s.runroot]
        self.base = base

    def sweep_env_files(self) -> None:
        """Make the environment directory private and empty it (at the agent's start)."""
        if self.env_dir is None:
            return
        self.env_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.env_dir.chmod(0o700)
        for left in self.env_dir.glob("hspm-env-*"):
            left.unlink(missing_ok=True)

    async def run(self, *args: str, timeout: float = COMMAND_TIMEOUT) -> Result:
        proc = await asyncio.create_subprocess_exec(
            *self.base, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            return Result(124, "", f"podman {args[0]} timed out after {timeout:g} s")
        return Result(proc.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace"))

    async def check(self, *args: str, timeout: float = COMMAND_TIMEOUT) -> str:
        done = await self.run(*args, timeout=timeout)
        if done.code != 0:
            raise PodmanError(f"podman {args[0]} exited {done.code}: {_tail(done.err or done.out)}")
        return done.out

    async def containers(self, label: str) -> list[dict[str, Any]]:
        out = await self.check("ps", "--all", "--filter", f"label={label}", "--format", "json")
        found = json.loads(out or "[]")
        return found if isinstance(found, list) else []

    async def ensure_image(self, image: str) -> None:
        """Pull ``image`` (by digest) unless this storage has it already."""
        if (await self.run("image", "exists", image)).code == 0:
            return
        args = ["pull", "--quiet"]
        if registry_of(image) in self.settings.insecure_registries:
            args.append("--tls-verify=false")
        await self.check(*args, image, timeout=PULL_TIMEOUT)

    async def create(
        self, options: Sequence[str], env: Sequence[tuple[str, str]], image: str, argv: Sequence[str]
    ) -> None:
        """``podman run -d`` with the environment in a private file (values stay off argv)."""
        fd, path = tempfile.mkstemp(prefix="hspm-env-", dir=self.env_dir)
        try:
            with os.fdopen(fd, "w") as out:
                out.writelines(f"{k}={v}\n" for k, v in env)
            await self.check("run", "--detach", "--pull", "never", *options, "--env-file", path, image, *argv)
        finally:
            os.unlink(path)

    def ulimits(self) -> list[str]:
        s = self.settings
        return [
            "--ulimit",
            f"nofile={s.ulimit_nofile}:{s.ulimit_nofile}",
            "--ulimit",
            f"nproc={s.ulimit_nproc}:{s.ulimit_nproc}",
        ]

    async def remove(self, names: Sequence[str], stop_timeout: int) -> None:
        if names:
            await self.check(
                "rm", "--force", "--time", str(stop_timeout), *names, timeout=stop_timeout + 60.0
            )

    async def healthcheck(self, name: str) -> Result:
        return await self.run("healthcheck", "run", name, timeout=60.0)

    async def logs(self, name: str, lines: int = 20) -> str:
        done = await self.run("logs", "--tail", str(lines), name)
        return _tail(done.out + done.err, 1500)


def registry_of(image: str) -> str:
    """The registry host of a reference (``host[:port]/path@digest``); Docker Hub when none."""
    first, slash, _ = image.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def _tail(text: str, limit: int = 600) -> str:
    text = text.strip()
    return text if len(text) <= limit else "..." + text[-limit:]
