"""Layer safety: read a layer's tar headers (never extract) and list what would escape the root.

The scan runs over the verified blob on disk, in a worker thread: decompression is
bounded (a gzip bomb stops at ``max_bytes``), and so is the number of entries. It also
measures the uncompressed size and the diff id, which the image config must agree with.
"""

from __future__ import annotations

import gzip
import hashlib
import tarfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

MAX_MEMBERS = 500_000
EXAMPLES = 10
READ = 1024 * 1024
_GZIP = b"\x1f\x8b"
_ZSTD = b"\x28\xb5\x2f\xfd"


class LayerTooBig(Exception):
    """The layer expands past the scan's bound."""


@dataclass
class LayerScan:
    """What one layer holds that could escape, and how big it is unpacked."""

    compression: str = "none"
    uncompressed_bytes: int = 0
    diff_id: str = ""
    members: int = 0
    problems: list[str] = field(default_factory=list)  # up to EXAMPLES, each "path: what"
    problem_count: int = 0
    error: str | None = None  # the layer could not be read to the end (and why)

    def add(self, text: str) -> None:
        self.problem_count += 1
        if len(self.problems) < EXAMPLES:
            self.problems.append(text)


def sniff(head: bytes) -> str:
    """The compression of a layer from its first bytes: ``gzip``, ``zstd`` or ``none`` (tar)."""
    if head.startswith(_GZIP):
        return "gzip"
    if head.startswith(_ZSTD):
        return "zstd"
    return "none"


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _Counted:
    """The uncompressed tar stream: counts and hashes every byte, and stops at the bound."""

    def __init__(self, inner: _Readable, max_bytes: int) -> None:
        self.inner = inner
        self.max_bytes = max_bytes
        self.count = 0
        self.hasher = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        # tarfile asks for blocks; a huge skip is many reads, each checked here.
        data = self.inner.read(READ if size is None or size < 0 else min(size, READ))
        self.count += len(data)
        if self.count > self.max_bytes:
            raise LayerTooBig(f"expands past {self.max_bytes} bytes")
        self.hasher.update(data)
        return data

    def drain(self) -> None:
        while self.read(READ):
            pass


def _climbs(parts: list[str], start: list[str]) -> bool:
    """Whether walking ``parts`` from directory ``start`` goes above the root."""
    depth = list(start)
    for part in parts:
        if part in ("", "."):
            continue
        if part == "..":
            if not depth:
                return True
            depth.pop()
        else:
            depth.append(part)
    return False


def member_problems(member: tarfile.TarInfo) -> list[str]:
    """Why this entry is unsafe to unpack (empty when it is fine)."""
    name = member.name
    problems = []
    if name.startswith("/"):
        problems.append("absolute path")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        problems.append("path with '..'")
    if member.ischr() or member.isblk():
        kind = "character" if member.ischr() else "block"
        problems.append(f"{kind} device {member.devmajor}:{member.devminor}")
    elif member.isfifo():
        problems.append("fifo")
    elif member.islnk():
        target = member.linkname
        if target.startswith("/") or _climbs(target.split("/"), []):
            problems.append(f"hard link to {target!r} outside the root")
    elif member.issym():
        # An absolute symlink resolves inside the container's root; a relative one that
        # climbs past it points at the host when something follows it on unpack.
        target = member.linkname
        if not target.startswith("/") and _climbs(target.split("/"), parts[:-1]):
            problems.append(f"symlink to {target!r} climbs out of the root")
    return problems


def scan_stream(raw: BinaryIO, max_bytes: int, diff_id: str | None = None) -> LayerScan:
    """Scan a layer blob (gzip or plain tar) read from ``raw``."""
    scan = LayerScan()
    head = raw.read(4)
    scan.compression = sniff(head)
    if scan.compression == "zstd":
        scan.error = "zstd-compressed; not scanned"
        return scan
    raw.seek(0)
    inner: _Readable = gzip.GzipFile(fileobj=raw, mode="rb") if scan.compression == "gzip" else raw
    counted = _Counted(inner, max_bytes)
    try:
        _walk(counted, scan)
        counted.drain()
    except LayerTooBig as exc:
        scan.error = str(exc)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        scan.error = f"not a readable tar archive ({exc})"
    scan.uncompressed_bytes = counted.count
    if scan.error is None:
        scan.diff_id = "sha256:" + counted.hasher.hexdigest()
        if diff_id is not None and diff_id != scan.diff_id:
            scan.error = f"its uncompressed digest {scan.diff_id} is not the config's diff_id {diff_id}"
    return scan


def _walk(stream: _Counted, scan: LayerScan) -> None:
    # Stream mode only ever calls read(); typeshed asks for a whole file object.
    with tarfile.open(fileobj=stream, mode="r|") as tar:  # type: ignore[call-overload]
        for member in tar:
            scan.members += 1
            if scan.members > MAX_MEMBERS:
                raise LayerTooBig(f"holds more than {MAX_MEMBERS} entries")
            for problem in member_problems(member):
                scan.add(f"{member.name}: {problem}")


def scan_file(path: Path, max_bytes: int, diff_id: str | None = None) -> LayerScan:
    """Scan the layer blob at ``path`` (blocking: run it in a thread)."""
    with path.open("rb") as raw:
        return scan_stream(raw, max_bytes, diff_id)
