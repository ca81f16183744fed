"""A tar reader that trusts no header: every size is checked before a byte of it is read.

Python's ``tarfile`` reads a PAX or GNU long-name header's data whole, whatever size it
declares, so a tiny gzip layer holding one such header over gigabytes of zeros makes the
scan allocate gigabytes. This reader parses the 512-byte headers itself and reads a
header's data only up to :data:`MAX_META`; file data is skipped in bounded chunks.

It follows Go's ``archive/tar`` (what ``umoci unpack`` uses) where the two could disagree
on where the next header starts (header-only types carry no data, a ``\\0`` type whose
name ends in ``/`` is a directory, old GNU sparse headers have extension blocks, a PAX
``size`` overrides the header's). Where they could disagree on a name it reports every
name a reader could take (the name field, ``prefix/name``, PAX ``path`` and
``GNU.sparse.name``, a GNU long name) so the scan judges them all.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

BLOCK = 512
MAX_META = 64 * 1024  # one PAX or GNU long-name/long-link header's data, in bytes
MAX_META_CHAIN = 8  # meta headers in a row before one entry
MAX_NAME = 4096  # a path or link target, in bytes (PATH_MAX)
MAX_SPARSE_BLOCKS = 128  # old GNU sparse extension blocks after one header
SKIP = 1024 * 1024  # file data is skipped this much at a time

_ZERO = bytes(BLOCK)
_HIGH_BYTES = bytes(range(128, 256))
_HEADER_ONLY = frozenset(b"123456")  # link, symlink, char, block, dir, fifo: no data follows
_META = {ord("x"): "PAX", ord("g"): "PAX global", ord("L"): "GNU long-name", ord("K"): "GNU long-link"}
_NAME_RECORDS = ("path", "GNU.sparse.name")
_SPARSE_SIZE_RECORDS = ("GNU.sparse.realsize", "GNU.sparse.size")


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class TarLimit(Exception):
    """A header asks for more than the reader allows (sizes, names, header chains)."""


class TarBroken(Exception):
    """Not a tar archive a strict reader accepts (bad checksum, malformed numbers or records)."""


@dataclass(frozen=True)
class Entry:
    """One archive member: what ``umoci`` would create, and every name it might take."""

    name: str  # as Go's archive/tar reads it, for messages
    linkname: str
    type: int  # the typeflag byte
    size: int  # data bytes stored after the header
    devmajor: int
    devminor: int
    names: tuple[str, ...]  # every candidate name (name field, prefix/name, PAX, long name)
    links: tuple[str, ...]  # every candidate link target
    expanded: int  # the size a sparse file unpacks to (else its stored size)


def read_exact(stream: Readable, n: int) -> bytes:
    """``n`` bytes, or fewer only at the end of the stream."""
    parts, got = [], 0
    while got < n:
        data = stream.read(n - got)
        if not data:
            break
        parts.append(data)
        got += len(data)
    return b"".join(parts)


def skip(stream: Readable, n: int) -> None:
    while n > 0:
        data = stream.read(min(n, SKIP))
        if not data:
            raise TarBroken("the archive ends inside an entry's data")
        n -= len(data)


def _padded(size: int) -> int:
    return -size % BLOCK + size


def _string(field: bytes) -> str:
    return field.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def number(field: bytes, what: str) -> int:
    """A numeric field: octal text (NUL/space padded) or GNU base-256."""
    if field and field[0] & 0x80:
        negative = bool(field[0] & 0x40)
        value = 0
        for i, byte in enumerate(field):
            byte ^= 0xFF if negative else 0
            value = (value << 8) | (byte & 0x7F if i == 0 else byte)
        if negative or value >> 63:
            raise TarBroken(f"the {what} field is out of range")
        return value
    text = field.strip(b" \0").split(b"\0", 1)[0]
    if not text:
        return 0
    if text.strip(b"01234567"):
        raise TarBroken(f"the {what} field {text[:16]!r} is not octal")
    return int(text, 8)


def _checksum_ok(block: bytes) -> bool:
    try:
        stored = number(block[148:156], "checksum")
    except TarBroken:
        return False
    blanked = block[:148] + b" " * 8 + block[156:]
    unsigned = sum(blanked)
    # Some old writers summed signed chars: each byte over 127 counts 256 less.
    high = len(blanked) - len(blanked.translate(None, _HIGH_BYTES))
    return stored in (unsigned, unsigned - 256 * high)


def pax_records(data: bytes) -> list[tuple[str, str]]:
    """``"%d %s=%s\\n"`` records, strictly (Go refuses what this refuses)."""
    records, pos = [], 0
    while pos < len(data):
        space = data.find(b" ", pos, pos + 20)
        digits = data[pos:space] if space > pos else b""
        if not digits.isdigit():
            raise TarBroken("a PAX record has no length")
        end = pos + int(digits)
        if end > len(data) or end <= space + 1 or data[end - 1 : end] != b"\n":
            raise TarBroken("a PAX record's length does not fit")
        key, eq, value = data[space + 1 : end - 1].partition(b"=")
        if not eq or not key:
            raise TarBroken("a PAX record has no key=value")
        text = value.decode("utf-8", "surrogateescape")
        if b"\0" in value and key in (b"path", b"linkpath"):
            raise TarBroken("a PAX path holds a NUL byte")
        records.append((key.decode("utf-8", "surrogateescape"), text))
        pos = end
    return records


def _candidates(block: bytes, name: str) -> tuple[str, list[str]]:
    """The name as Go reads the header, and every name a reader could read from it."""
    magic, trailer = block[257:263], block[508:512]
    prefix = _string(block[345:500])
    final = name
    if magic == b"ustar\0":  # USTAR or PAX (star when the trailer says so): a prefix field
        star = _string(block[345:476]) if trailer == b"tar\0" else prefix
        final = f"{star}/{name}" if star else name
    # Python's tarfile joins the prefix field whatever the format says.
    return final, [name, final, *([f"{prefix}/{name}"] if prefix else [])]


@dataclass
class _Pending:
    """What the meta headers before the next entry said about it.

    Go keeps only the last PAX header's records and the last long name or link (that
    decides where data ends); every name any of them gave is kept to be judged.
    """

    chain: int = 0
    names: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    pax: dict[str, str] = field(default_factory=dict)
    long_name: str | None = None
    long_link: str | None = None

    @property
    def size(self) -> int | None:
        value = self.pax.get("size")
        if value is None:
            return None
        if not value.isdigit():
            raise TarBroken("a PAX size record is not a number")
        return int(value)

    @property
    def sparse(self) -> int:
        sizes = [self.pax.get(key, "") for key in _SPARSE_SIZE_RECORDS]
        return max((int(s) for s in sizes if s.isdigit()), default=0)


def entries(stream: Readable, max_size: int) -> Iterator[Entry]:
    """Every member, its data skipped; :class:`TarLimit` when a header asks for too much.

    ``max_size`` bounds any one entry's declared (or sparse) size. Stops at the first
    zero block or at the end of the stream on a header boundary.
    """
    pending = _Pending()
    while True:
        block = read_exact(stream, BLOCK)
        if not block or block == _ZERO:
            return
        if len(block) < BLOCK:
            raise TarBroken("the archive ends inside a header")
        if not _checksum_ok(block):
            raise TarBroken("a header's checksum is wrong")
        kind = block[156]
        size = number(block[124:136], "size")
        name = _string(block[:100])
        if kind in _META:
            _read_meta(stream, kind, size, name, pending)
            if kind == ord("g"):
                yield _global_entry(name, pending)
                pending = _Pending()
            continue
        yield _entry(stream, block, kind, size, name, pending, max_size)
        pending = _Pending()


def _read_meta(stream: Readable, kind: int, size: int, name: str, pending: _Pending) -> None:
    what = _META[kind]
    pending.chain += 1
    if pending.chain > MAX_META_CHAIN:
        raise TarLimit(f"more than {MAX_META_CHAIN} PAX or GNU long-name headers in a row")
    if size > MAX_META:
        raise TarLimit(f"a {what} header ({_short(name)}) declares {size} bytes; at most {MAX_META} are read")
    data = read_exact(stream, _padded(size))
    if len(data) < _padded(size):
        raise TarBroken(f"the archive ends inside a {what} header")
    data = data[:size]
    if kind == ord("L"):
        pending.long_name = _string(data)
        pending.names.append(pending.long_name)
    elif kind == ord("K"):
        pending.long_link = _string(data)
        pending.links.append(pending.long_link)
    else:
        records = pax_records(data)
        pending.pax = dict(records)
        pending.names += [value for key, value in records if key in _NAME_RECORDS]
        pending.links += [value for key, value in records if key == "linkpath"]


def _global_entry(name: str, pending: _Pending) -> Entry:
    names, links = tuple(pending.names) or (name,), tuple(pending.links)
    _check_lengths(names, links)
    return Entry(name, "", ord("g"), 0, 0, 0, names, links, 0)


def _entry(
    stream: Readable, block: bytes, kind: int, size: int, name: str, pending: _Pending, max_size: int
) -> Entry:
    final, names = _candidates(block, name)
    linkname = _string(block[157:257])
    # Go: the PAX header's records override the header, a GNU long name overrides both.
    final = pending.long_name or pending.pax.get("path") or final
    linkname = pending.long_link or pending.pax.get("linkpath") or linkname
    pax_size = pending.size
    if pax_size is not None:
        size = pax_size
    if kind == 0 and final.endswith("/"):
        kind = ord("5")  # Go (and tarfile) read an old-style regular file named "x/" as a directory
    stored = 0 if kind in _HEADER_ONLY else size
    expanded = stored
    if kind == ord("S"):
        expanded = max(stored, number(block[483:495], "sparse size"))
        _skip_sparse_extensions(stream, block)
    expanded = max(expanded, pending.sparse)
    if expanded > max_size:
        raise TarLimit(f"expands past {max_size} bytes ({_short(final)} alone declares {expanded})")
    all_names = tuple(dict.fromkeys([*names, *pending.names]))
    links = tuple(dict.fromkeys([linkname, *pending.links]))
    _check_lengths(all_names, links)
    entry = Entry(
        name=final,
        linkname=linkname,
        type=kind,
        size=stored,
        devmajor=_device(block[329:337]),
        devminor=_device(block[337:345]),
        names=all_names,
        links=links,
        expanded=expanded,
    )
    skip(stream, _padded(stored))
    return entry


def _skip_sparse_extensions(stream: Readable, block: bytes) -> None:
    extended, count = block[482], 0
    while extended:
        count += 1
        if count > MAX_SPARSE_BLOCKS:
            raise TarLimit(f"a sparse file has more than {MAX_SPARSE_BLOCKS} extension headers")
        extension = read_exact(stream, BLOCK)
        if len(extension) < BLOCK:
            raise TarBroken("the archive ends inside a sparse header")
        extended = extension[504]


def _check_lengths(names: tuple[str, ...], links: tuple[str, ...]) -> None:
    for text in (*names, *links):
        if len(text.encode("utf-8", "surrogateescape")) > MAX_NAME:
            raise TarLimit(f"a name or link target is longer than {MAX_NAME} bytes ({_short(text)})")


def _device(field: bytes) -> int:
    try:
        return number(field, "device")
    except TarBroken:
        return 0


def _short(text: str, limit: int = 60) -> str:
    clean = "".join(c if c.isprintable() else "?" for c in text)
    return repr(clean if len(clean) <= limit else clean[: limit - 3] + "...")
