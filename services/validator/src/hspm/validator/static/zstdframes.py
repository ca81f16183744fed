"""The frame structure of a zstd blob, walked without decoding: is every frame complete?

``zstandard``'s streaming reader ends quietly at a frame cut short, so a truncated layer
would read as a shorter, valid-looking tar. Walking the frame and block headers (RFC 8878)
finds the cut before anything is decoded; it reads a few bytes per 128 KiB block.
"""

from __future__ import annotations

from typing import BinaryIO

_MAGIC = b"\x28\xb5\x2f\xfd"
_SKIPPABLE = b"\x2a\x4d\x18"  # after one byte 0x50-0x5f
_DICT_ID_BYTES = (0, 1, 2, 4)
_CONTENT_SIZE_BYTES = (0, 2, 4, 8)
MAX_BLOCK = 128 * 1024


def problem(raw: BinaryIO) -> str | None:
    """Why ``raw`` is not a sequence of complete zstd frames (None when it is); reads from 0."""
    raw.seek(0)
    frames = 0
    while True:
        magic = raw.read(4)
        if not magic:
            return None if frames else "no zstd frame"
        frames += 1
        if len(magic) < 4:
            return f"frame {frames} is cut short"
        if magic[1:] == _SKIPPABLE and 0x50 <= magic[0] <= 0x5F:
            size = raw.read(4)
            if len(size) < 4 or not _skip(raw, int.from_bytes(size, "little")):
                return f"skippable frame {frames} is cut short"
            continue
        if magic != _MAGIC:
            return f"frame {frames} does not start with the zstd magic number"
        why = _frame(raw)
        if why is not None:
            return f"frame {frames}: {why}"


def _skip(raw: BinaryIO, n: int) -> bool:
    """Skip ``n`` bytes; False when the blob ends first."""
    here = raw.tell()
    end = raw.seek(0, 2)
    if here + n > end:
        return False
    raw.seek(here + n)
    return True


def _frame(raw: BinaryIO) -> str | None:
    descriptor = raw.read(1)
    if not descriptor:
        return "cut short in its header"
    flags = descriptor[0]
    if flags & 0x08:
        return "the reserved header bit is set"
    single_segment = bool(flags & 0x20)
    content_size = _CONTENT_SIZE_BYTES[flags >> 6] or (1 if single_segment else 0)
    header = (0 if single_segment else 1) + _DICT_ID_BYTES[flags & 0x03] + content_size
    if not _skip(raw, header):
        return "cut short in its header"
    while True:
        block = raw.read(3)
        if len(block) < 3:
            return "cut short: its last block is missing"
        value = int.from_bytes(block, "little")
        last, kind, size = value & 1, (value >> 1) & 3, value >> 3
        if kind == 3:
            return "a block of the reserved type"
        if size > MAX_BLOCK:
            return f"a block of {size} bytes (at most {MAX_BLOCK})"
        if not _skip(raw, 1 if kind == 1 else size):
            return "cut short inside a block"
        if last:
            break
    if flags & 0x04 and not _skip(raw, 4):
        return "cut short in its checksum"
    return None
