"""Layer scans over tarballs built here: escapes, devices, links, bombs, sizes and diff ids."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from pathlib import Path

from hspm.validator.static import layers


def _tar(*members: tuple[str, bytes | str, str], body: bytes = b"") -> bytes:
    """A tar of (name, type, linkname) entries; regular files get ``body``."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, link in members:
            info = tarfile.TarInfo(name)
            info.type = kind if isinstance(kind, bytes) else kind.encode()
            info.linkname = link
            if info.type in (tarfile.CHRTYPE, tarfile.BLKTYPE):
                info.devmajor, info.devminor = 1, 3
            data = body if info.type == tarfile.REGTYPE else b""
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _scan(raw: bytes, max_bytes: int = 1 << 30, diff_id: str | None = None) -> layers.LayerScan:
    return layers.scan_stream(io.BytesIO(raw), max_bytes, diff_id)


FILE, DIR, SYM, LNK = tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE


class TestCleanLayers:
    def test_a_normal_root_filesystem_passes(self) -> None:
        raw = _tar(
            ("bin", DIR, ""),
            ("bin/busybox", FILE, ""),
            ("bin/sh", SYM, "busybox"),
            ("./etc/", DIR, ""),
            ("etc/alternatives/sh", SYM, "/bin/busybox"),  # absolute: resolves inside the root
            ("usr/lib/x", SYM, "../../bin/busybox"),  # climbs, but not past the root
            ("bin/ash", LNK, "bin/busybox"),
            ("var/.wh.cache", FILE, ""),
            body=b"x" * 1000,
        )
        scan = _scan(gzip.compress(raw))
        assert scan.problems == [] and scan.error is None
        assert scan.compression == "gzip"
        assert scan.members == 8
        assert scan.uncompressed_bytes == len(raw)
        assert scan.diff_id == "sha256:" + hashlib.sha256(raw).hexdigest()

    def test_uncompressed_layers_are_read_as_tar(self) -> None:
        raw = _tar(("a", FILE, ""))
        scan = _scan(raw, diff_id="sha256:" + hashlib.sha256(raw).hexdigest())
        assert scan.compression == "none" and scan.error is None and scan.members == 1


class TestHostileEntries:
    def test_traversal_and_absolute_names(self) -> None:
        scan = _scan(
            gzip.compress(_tar(("../../escaped", FILE, ""), ("/etc/abs", FILE, ""), ("a/../../b", FILE, "")))
        )
        assert scan.problems == [
            "../../escaped: path with '..'",
            "/etc/abs: absolute path",
            "a/../../b: path with '..'",
        ]

    def test_devices_and_fifos(self) -> None:
        scan = _scan(
            _tar(
                ("dev/evil", tarfile.CHRTYPE, ""),
                ("dev/disk", tarfile.BLKTYPE, ""),
                ("p", tarfile.FIFOTYPE, ""),
            )
        )
        assert scan.problems == ["dev/evil: character device 1:3", "dev/disk: block device 1:3", "p: fifo"]

    def test_hard_links_out_of_the_root(self) -> None:
        scan = _scan(_tar(("a", LNK, "../etc/passwd"), ("b", LNK, "/etc/shadow"), ("c", LNK, "x/../y")))
        assert scan.problems == [
            "a: hard link to '../etc/passwd' outside the root",
            "b: hard link to '/etc/shadow' outside the root",
        ]

    def test_relative_symlinks_climbing_out(self) -> None:
        scan = _scan(_tar(("a/b", SYM, "../../x"), ("top", SYM, ".."), ("ok/link", SYM, "../fine")))
        assert scan.problems == [
            "a/b: symlink to '../../x' climbs out of the root",
            "top: symlink to '..' climbs out of the root",
        ]

    def test_examples_are_capped_but_all_are_counted(self) -> None:
        scan = _scan(_tar(*((f"../x{i}", FILE, "") for i in range(25))))
        assert len(scan.problems) == layers.EXAMPLES and scan.problem_count == 25


class TestUnreadable:
    def test_a_decompression_bomb_stops_at_the_bound(self) -> None:
        raw = gzip.compress(_tar(("zeros", FILE, ""), body=bytes(8 * 1024 * 1024)))
        assert len(raw) < 64 * 1024
        scan = _scan(raw, max_bytes=1024 * 1024)
        assert scan.error is not None and "expands past 1048576 bytes" in scan.error
        assert scan.uncompressed_bytes <= 1024 * 1024 + layers.READ

    def test_not_a_tar(self) -> None:
        scan = _scan(gzip.compress(b"this is not a tar archive" * 40))
        assert scan.error is not None and scan.error.startswith("not a readable tar archive")

    def test_truncated_gzip(self) -> None:
        scan = _scan(gzip.compress(_tar(("a", FILE, ""), body=b"y" * 5000))[:60])
        assert scan.error is not None and "not a readable tar archive" in scan.error

    def test_zstd_that_is_no_zstd_stream_is_unreadable(self) -> None:
        # Was "zstd-compressed; not scanned" (a warning, then unpacked as root): issue 9.
        scan = _scan(b"\x28\xb5\x2f\xfd" + b"\0" * 32)
        assert scan.compression == "zstd"
        assert scan.error is not None and scan.error.startswith("not a readable zstd stream")

    def test_diff_id_mismatch(self) -> None:
        scan = _scan(gzip.compress(_tar(("a", FILE, ""))), diff_id="sha256:" + "0" * 64)
        assert scan.error is not None and "is not the config's diff_id" in scan.error


def test_sniff() -> None:
    assert layers.sniff(b"\x1f\x8b\x08\x00") == "gzip"
    assert layers.sniff(b"\x28\xb5\x2f\xfd") == "zstd"
    assert layers.sniff(b"bin/") == "none"
    assert layers.sniff(b"") == "none"


def test_scan_file(tmp_path: Path) -> None:
    blob = tmp_path / "blob"
    blob.write_bytes(gzip.compress(_tar(("dev/evil", tarfile.CHRTYPE, ""))))
    assert layers.scan_file(blob, 1 << 20).problems == ["dev/evil: character device 1:3"]
