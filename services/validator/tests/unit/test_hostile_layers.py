"""Issue 9: hostile layers. Headers that declare gigabytes, names past every bound, entries a
lenient reader would see differently, and zstd layers scanned like gzip ones."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
import tracemalloc
import zlib
from pathlib import Path

import pytest
import zstandard

from hspm.common.events.validator import RuleStatus
from hspm.validator.facts import Target
from hspm.validator.static import layers, rules, tarstream
from hspm.validator.static.manifests import Resolved

GIB = 1024**3
FILE, SYM = tarfile.REGTYPE, tarfile.SYMTYPE


def _header(
    name: bytes, kind: bytes, size: int, *, gnu: bool = False, extra: dict[int, bytes] | None = None
) -> bytes:
    """One raw 512-byte header with a correct checksum (fields as ``extra`` offset -> bytes)."""
    block = bytearray(512)
    block[0 : len(name)] = name
    block[100:108] = b"0000644\0"
    block[108:116] = block[116:124] = b"0000000\0"
    block[124:136] = b"%011o\0" % size if size < 8**11 else b"\x80" + size.to_bytes(11, "big")
    block[136:148] = b"00000000000\0"
    block[156:157] = kind
    block[257:265] = b"ustar  \0" if gnu else b"ustar\x0000"
    for offset, value in (extra or {}).items():
        block[offset : offset + len(value)] = value
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block)


def _gzip_stream(head: bytes, zeros: int) -> bytes:
    """gzip of ``head`` followed by ``zeros`` zero bytes, compressed a megabyte at a time."""
    out = zlib.compressobj(1, zlib.DEFLATED, 31)
    parts = [out.compress(head)]
    chunk = bytes(1 << 20)
    for _ in range(zeros >> 20):
        parts.append(out.compress(chunk))
    parts.append(out.flush())
    return b"".join(parts)


def _tar(*members: tuple[str, bytes, str], pax: dict[str, str] | None = None) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, link in members:
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, link
            if pax:
                info.pax_headers = dict(pax)
            tar.addfile(info, io.BytesIO(b""))
    return out.getvalue()


class _Recorded(io.BytesIO):
    """The blob as a stream that remembers every read it was asked for."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.delivered = 0

    def read(self, size: int | None = -1, /) -> bytes:
        data = super().read(size)
        self.delivered += len(data)
        return data


def _scan_bounded(blob: bytes) -> tuple[layers.LayerScan, int, _Recorded]:
    """The scan, its peak of traced memory, and the stream it read."""
    raw = _Recorded(blob)
    tracemalloc.start()
    try:
        scan = layers.scan_stream(raw, 1 << 40)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return scan, peak, raw


class TestFinding1HeaderSizesAreBoundedWhileStreaming:
    @pytest.mark.parametrize(
        ("kind", "what"),
        [(b"x", "PAX"), (b"g", "PAX global"), (b"L", "GNU long-name"), (b"K", "GNU long-link")],
    )
    def test_a_meta_header_declaring_gigabytes_fails_before_it_is_read(self, kind: bytes, what: str) -> None:
        # A tiny layer (~32 KiB of gzip) whose header declares 4 GiB and really holds 32 MiB:
        # tarfile read the whole declared size into memory.
        blob = _gzip_stream(_header(b"././@LongLink", kind, 4 * GIB), 32 << 20)
        assert len(blob) < 256 * 1024
        scan, peak, raw = _scan_bounded(blob)
        bound = tarstream.MAX_META
        assert (
            scan.error
            == f"a {what} header ('././@LongLink') declares {4 * GIB} bytes; at most {bound} are read"
        )
        # Bounded: it stopped at the header, and never held more than a few buffers.
        assert scan.uncompressed_bytes <= tarstream.BLOCK
        assert raw.delivered < 256 * 1024
        assert peak < 4 * 1024 * 1024, f"peak {peak} bytes"

    def test_the_image_layers_rule_fails_with_the_reason(self) -> None:
        scan = layers.scan_stream(io.BytesIO(_gzip_stream(_header(b"x", b"x", 4 * GIB), 1 << 20)), 1 << 40)
        status, evidence = _judge([scan])
        assert status == "fail"
        assert f"declares {4 * GIB} bytes; at most 65536 are read" in evidence

    def test_a_name_longer_than_the_bound_fails(self) -> None:
        scan = layers.scan_stream(io.BytesIO(_tar(("a/" * 2500 + "b", FILE, ""))), 1 << 30)
        assert scan.error is not None and f"longer than {tarstream.MAX_NAME} bytes" in scan.error

    def test_a_chain_of_meta_headers_is_bounded(self) -> None:
        chain = b"".join(_header(b"n", b"L", 10) + b"../x".ljust(512, b"\0") for _ in range(20))
        scan = layers.scan_stream(io.BytesIO(chain), 1 << 30)
        assert scan.error == f"more than {tarstream.MAX_META_CHAIN} PAX or GNU long-name headers in a row"

    def test_the_entry_count_is_bounded(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(layers, "MAX_MEMBERS", 5)
        scan = layers.scan_stream(io.BytesIO(_tar(*((f"f{i}", FILE, "") for i in range(8)))), 1 << 30)
        assert scan.error == "holds more than 5 entries"

    def test_a_sparse_file_counts_what_it_unpacks_to(self) -> None:
        realsize = b"%011o\0" % GIB
        sparse = _header(b"holes", b"S", 0, gnu=True, extra={483: realsize})
        scan = layers.scan_stream(io.BytesIO(sparse + bytes(1024)), 1 << 20)
        assert scan.error is not None and scan.error.startswith("expands past 1048576 bytes")

    def test_an_entry_declaring_more_than_the_bound_stops_unread(self) -> None:
        scan = layers.scan_stream(io.BytesIO(_header(b"big", b"0", 9 * GIB)), 1 << 30)
        assert scan.error == f"expands past {1 << 30} bytes ('big' alone declares {9 * GIB})"


class TestFinding1EveryNameAReaderCouldTakeIsJudged:
    def test_a_pax_path_overrides_the_header_name(self) -> None:
        scan = layers.scan_stream(io.BytesIO(_tar(("innocent", FILE, ""), pax={"path": "../evil"})), 1 << 30)
        assert scan.problems == ["../evil: path with '..'"]

    def test_a_gnu_long_name(self) -> None:
        long_name = _header(b"././@LongLink", b"L", 10) + b"/etc/evil".ljust(512, b"\0")
        raw = long_name + _header(b"innocent", b"0", 0, gnu=True)
        scan = layers.scan_stream(io.BytesIO(raw), 1 << 30)
        assert scan.problems == ["/etc/evil: absolute path"]

    def test_a_ustar_prefix(self) -> None:
        raw = _header(b"passwd", b"0", 0, extra={345: b"../../etc"})
        scan = layers.scan_stream(io.BytesIO(raw), 1 << 30)
        assert scan.problems == ["../../etc/passwd: path with '..'"]

    def test_header_only_types_carry_no_data(self) -> None:
        # Go's archive/tar (umoci) reads the next header right after a symlink whatever its
        # size field says; skipping "its data" would hide the entry that follows.
        raw = _header(b"link", b"2", 512, extra={157: b"target"}) + _header(b"../escaped", b"0", 0)
        scan = layers.scan_stream(io.BytesIO(raw), 1 << 30)
        assert scan.members == 2 and scan.problems == ["../escaped: path with '..'"]

    def test_a_bad_checksum_is_unreadable(self) -> None:
        raw = bytearray(_tar(("a", FILE, "")))
        raw[0] = ord("b")
        scan = layers.scan_stream(io.BytesIO(bytes(raw)), 1 << 30)
        assert scan.error == "not a readable tar archive (a header's checksum is wrong)"

    def test_agrees_with_tarfile_on_an_ordinary_archive(self) -> None:
        members = [(f"dir{i}/file{i}" + "x" * (i * 20), FILE, "") for i in range(12)]
        raw = _tar(*members, ("dir0/link", SYM, "file0"))
        with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
            expected = [m.name for m in tar]
        seen = [e.name for e in tarstream.entries(io.BytesIO(raw), 1 << 30)]
        assert seen == expected


def _zstd(raw: bytes, **params: int) -> bytes:
    if params:
        # Streamed (no content size), so the frame names the window instead of its size.
        compressor = zstandard.ZstdCompressor(
            compression_params=zstandard.ZstdCompressionParameters(**params)
        )
        stream = compressor.compressobj()
        return stream.compress(raw) + stream.flush()
    return zstandard.ZstdCompressor(level=3).compress(raw)


def _judge(scans: list[layers.LayerScan]) -> tuple[RuleStatus, str]:
    resolved = Resolved(
        target=Target("r", "http", "a/b", "1"),
        digest="sha256:" + "1" * 64,
        media_type="application/vnd.oci.image.manifest.v1+json",
        manifest={"layers": [{"digest": "sha256:" + "2" * 64, "size": 1}] * len(scans)},
        config={},
        config_raw=b"{}",
    )
    return rules.judge_layers(resolved, scans)


class TestFinding2ZstdLayersAreScannedLikeGzip:
    def test_a_path_escape_in_a_zstd_layer_fails(self) -> None:
        scan = layers.scan_stream(io.BytesIO(_zstd(_tar(("../../escaped", FILE, "")))), 1 << 30)
        assert scan.compression == "zstd" and scan.problems == ["../../escaped: path with '..'"]
        assert _judge([scan])[0] == "fail"

    def test_a_good_zstd_layer_passes_with_its_diff_id(self) -> None:
        raw = _tar(("bin", tarfile.DIRTYPE, ""), ("bin/sh", SYM, "busybox"))
        diff_id = "sha256:" + hashlib.sha256(raw).hexdigest()
        scan = layers.scan_stream(io.BytesIO(_zstd(raw)), 1 << 30, diff_id)
        assert scan.error is None and scan.members == 2 and scan.diff_id == diff_id
        status, evidence = _judge([scan])
        assert status == "pass" and "1 zstd layer(s) unpacked from the tar that was scanned" in evidence

    def test_every_frame_is_read(self) -> None:
        raw = _tar(("a", FILE, ""), ("../b", FILE, ""))
        scan = layers.scan_stream(io.BytesIO(_zstd(raw[:512]) + _zstd(raw[512:])), 1 << 30)
        assert scan.error is None and scan.members == 2 and scan.problems == ["../b: path with '..'"]

    def test_a_truncated_zstd_layer_fails(self) -> None:
        blob = _zstd(_tar(*((f"f{i}", FILE, "") for i in range(50))))
        scan = layers.scan_stream(io.BytesIO(blob[:-20]), 1 << 30)
        assert scan.error is not None and scan.error.startswith(
            "not a readable zstd stream (frame 1: cut short"
        )
        assert _judge([scan])[0] == "fail"

    def test_a_window_larger_than_the_bound_is_refused(self) -> None:
        blob = _zstd(_tar(("a", FILE, "")), window_log=28)
        scan = layers.scan_stream(io.BytesIO(blob), 1 << 30)
        assert scan.error is not None and scan.error.startswith("not a readable zstd stream")

    def test_a_zstd_bomb_stops_at_the_bound(self) -> None:
        blob = _zstd(_tar(("a", FILE, "")) + bytes(16 << 20))
        scan = layers.scan_stream(io.BytesIO(blob), 1 << 20)
        assert scan.error is not None and "expands past 1048576 bytes" in scan.error

    def test_scan_file_keeps_the_scanned_tar_for_the_sandbox(self, tmp_path: Path) -> None:
        raw = _tar(("etc", tarfile.DIRTYPE, ""))
        blob = tmp_path / "blob"
        blob.write_bytes(_zstd(raw))
        scan = layers.scan_file(blob, 1 << 30)
        digest = hashlib.sha256(raw).hexdigest()
        assert scan.converted == {
            "mediaType": layers.PLAIN_TAR,
            "digest": f"sha256:{digest}",
            "size": len(raw),
        }
        assert (tmp_path / digest).read_bytes() == raw
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["blob", digest])

    def test_scan_file_keeps_nothing_of_an_unreadable_layer(self, tmp_path: Path) -> None:
        blob = tmp_path / "blob"
        blob.write_bytes(_zstd(_tar(("a", FILE, "")))[:-8])
        assert layers.scan_file(blob, 1 << 30).converted is None
        assert [p.name for p in tmp_path.iterdir()] == ["blob"]

    def test_gzip_layers_are_not_converted(self, tmp_path: Path) -> None:
        blob = tmp_path / "blob"
        blob.write_bytes(gzip.compress(_tar(("a", FILE, ""))))
        assert layers.scan_file(blob, 1 << 30).converted is None
