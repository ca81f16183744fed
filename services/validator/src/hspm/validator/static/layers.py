"""Layer safety: read a layer's tar headers (never extract) and list what would escape the root.

The scan runs over the verified blob on disk, in a worker thread. Everything is bounded
while it streams: decompression (a gzip or zstd bomb stops at ``max_bytes``), each header
(``tarstream`` reads PAX and GNU long-name data only up to 64 KiB), names, the number of
entries and what sparse files would unpack to. It also measures the uncompressed size and
the diff id, which the image config must agree with.

A zstd layer is scanned the same way; since ``umoci`` cannot unpack zstd, the scan writes
the very tar it read next to the blob, and the sandbox unpacks that (so what runs is
exactly what was scanned).
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO

import zstandard

from hspm.validator.static import zstdframes
from hspm.validator.static.tarstream import Entry, Readable, TarBroken, TarLimit, entries

MAX_MEMBERS = 500_000
EXAMPLES = 10
READ = 1024 * 1024
# A zstd frame names the window it needs; the decoder refuses larger ones (a memory bound).
# 128 MiB is zstd's own default limit: every level up to --ultra -22 fits, --long=28+ not.
MAX_ZSTD_WINDOW = 128 * 1024 * 1024
_GZIP = b"\x1f\x8b"
_ZSTD = b"\x28\xb5\x2f\xfd"
PLAIN_TAR = "application/vnd.oci.image.layer.v1.tar"


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
    sparse_bytes: int = 0  # what sparse files add when unpacked, beyond their stored bytes
    # A zstd layer's scanned tar, written beside it: the layout's descriptor for it.
    converted: dict[str, Any] | None = None

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


class _Counted:
    """The uncompressed tar stream: counts and hashes every byte (and copies it to ``sink``),
    and stops at the bound."""

    def __init__(self, inner: Readable, max_bytes: int, sink: IO[bytes] | None = None) -> None:
        self.inner = inner
        self.max_bytes = max_bytes
        self.sink = sink
        self.count = 0
        self.hasher = hashlib.sha256()

    def read(self, size: int = -1, /) -> bytes:
        # The reader asks for at most a header's data or a skip chunk; each read is checked.
        data = self.inner.read(READ if size is None or size < 0 else min(size, READ))
        self.count += len(data)
        if self.count > self.max_bytes:
            raise LayerTooBig(f"expands past {self.max_bytes} bytes")
        self.hasher.update(data)
        if self.sink is not None:
            self.sink.write(data)
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


def _parts(name: str) -> list[str]:
    return [p for p in name.split("/") if p not in ("", ".")]


def _as(entry: Entry, name: str) -> str:
    """How a candidate name that is not the entry's own is shown."""
    return "" if name == entry.name else f" (read as {name!r})"


def member_problems(entry: Entry) -> list[str]:
    """Why this entry is unsafe to unpack (empty when it is fine), under every name it has."""
    problems: dict[str, None] = {}
    for name in entry.names:
        if name.startswith("/"):
            problems["absolute path" + _as(entry, name)] = None
        if ".." in _parts(name):
            problems["path with '..'" + _as(entry, name)] = None
    kind = chr(entry.type)
    if kind in "34":
        device = "character" if kind == "3" else "block"
        problems[f"{device} device {entry.devmajor}:{entry.devminor}"] = None
    elif kind == "6":
        problems["fifo"] = None
    elif kind == "1":
        for target in entry.links:
            if target.startswith("/") or _climbs(target.split("/"), []):
                problems[f"hard link to {target!r} outside the root"] = None
    elif kind == "2":
        # An absolute symlink resolves inside the container's root; a relative one that
        # climbs past it points at the host when something follows it on unpack.
        for target in entry.links:
            for name in entry.names:
                if not target.startswith("/") and _climbs(target.split("/"), _parts(name)[:-1]):
                    problems[f"symlink to {target!r} climbs out of the root"] = None
    return list(problems)


def _decompressed(raw: BinaryIO, compression: str) -> Readable:
    if compression == "gzip":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if compression == "zstd":
        decoder = zstandard.ZstdDecompressor(max_window_size=MAX_ZSTD_WINDOW)
        # Every frame, as Go's decoder (and so any platform) reads them.
        return decoder.stream_reader(raw, read_size=READ, read_across_frames=True)
    return raw


def scan_stream(
    raw: BinaryIO, max_bytes: int, diff_id: str | None = None, sink: IO[bytes] | None = None
) -> LayerScan:
    """Scan a layer blob (gzip, zstd or plain tar) read from ``raw``; copy the tar to ``sink``."""
    scan = LayerScan()
    scan.compression = sniff(raw.read(4))
    if scan.compression == "zstd" and (cut := zstdframes.problem(raw)) is not None:
        scan.error = f"not a readable zstd stream ({cut})"
        return scan
    raw.seek(0)
    counted = _Counted(_decompressed(raw, scan.compression), max_bytes, sink)
    try:
        _walk(counted, scan)
        counted.drain()
    except (LayerTooBig, TarLimit) as exc:
        scan.error = str(exc)
    except zstandard.ZstdError as exc:
        scan.error = f"not a readable zstd stream ({exc})"
    except (TarBroken, OSError, EOFError, zlib.error) as exc:
        scan.error = f"not a readable tar archive ({exc})"
    scan.uncompressed_bytes = counted.count
    if scan.error is None:
        scan.diff_id = "sha256:" + counted.hasher.hexdigest()
        if diff_id is not None and diff_id != scan.diff_id:
            scan.error = f"its uncompressed digest {scan.diff_id} is not the config's diff_id {diff_id}"
    return scan


def _walk(stream: _Counted, scan: LayerScan) -> None:
    for entry in entries(stream, stream.max_bytes):
        if entry.type != ord("g"):
            scan.members += 1
        if scan.members > MAX_MEMBERS:
            raise LayerTooBig(f"holds more than {MAX_MEMBERS} entries")
        scan.sparse_bytes += entry.expanded - entry.size
        if stream.count + scan.sparse_bytes > stream.max_bytes:
            raise LayerTooBig(f"its sparse files unpack past {stream.max_bytes} bytes")
        for problem in member_problems(entry):
            scan.add(f"{entry.name}: {problem}")


def scan_file(path: Path, max_bytes: int, diff_id: str | None = None) -> LayerScan:
    """Scan the layer blob at ``path`` (blocking: run it in a thread).

    A zstd layer's tar is written beside it as it is scanned and kept, named by its diff
    id, when the scan read it to the end: ``converted`` is then its descriptor.
    """
    with path.open("rb") as raw:
        if sniff(raw.read(4)) != "zstd":
            raw.seek(0)
            return scan_stream(raw, max_bytes, diff_id)
        raw.seek(0)
        partial = path.with_name(path.name + ".tar.partial")
        with partial.open("wb") as sink:
            scan = scan_stream(raw, max_bytes, diff_id, sink)
    if scan.error is not None:
        partial.unlink(missing_ok=True)
        return scan
    partial.replace(path.with_name(scan.diff_id.removeprefix("sha256:")))
    scan.converted = {"mediaType": PLAIN_TAR, "digest": scan.diff_id, "size": scan.uncompressed_bytes}
    return scan
