"""Small host I/O helpers for the run steps: short bounded commands, the log, files that may be gone.

None of them knows about a run: each takes an argv, a path or an exception and gives back plain
values (an exit code and the tail of the output, text, a JSON object, a few words), and the
readers never raise for a file that has vanished, since the container or the kernel may remove
what a run was about to read. ``COMMAND_TIMEOUT`` bounds the short runc commands wherever they
run, in the run steps and in cleanup alike.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

COMMAND_TIMEOUT = 10.0
COMMAND_OUTPUT = 8192


def read_or_empty(path: Path) -> str:
    """The file's text, or "" if it cannot be read (a cgroup or process that is already gone)."""
    try:
        return path.read_text()
    except OSError:
        return ""


async def command(argv: list[str], timeout: float) -> tuple[int, str]:
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


def open_log(path: Path) -> int:
    """A fresh, private log file's descriptor, for a child's stdout and stderr."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)


def read_head(path: Path, size: int = 512) -> tuple[int, str]:
    """The log's size and first bytes."""
    try:
        with open(path, "rb") as f:
            return os.fstat(f.fileno()).st_size, f.read(size).decode("utf-8", "replace")
    except OSError:
        return 0, ""


def read_tail(path: Path, size: int) -> str:
    """The log's last ``size`` bytes."""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.fstat(f.fileno()).st_size - size))
            return f.read(size).decode("utf-8", "replace")
    except OSError:
        return ""


def why(exc: BaseException) -> str:
    """A failed attempt at I/O in a few words, for evidence."""
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__


def json_object(text: str) -> dict[str, Any]:
    """A command's output as a JSON object, or {} if it is not one."""
    try:
        doc = json.loads(text)
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}
