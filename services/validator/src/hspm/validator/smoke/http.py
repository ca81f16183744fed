"""A minimal HTTP/1.1 exchange: one GET request's bytes, and a bounded reading of the answer.

The sandbox speaks to a container over a socket made inside its network namespace (``netns``),
so no HTTP client library can be used as is; this is the little of HTTP that health probes
and smoke tests need. Every read is bounded (headers, body, chunk sizes), because the answer
comes from the image under test.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

BODY_LIMIT = 256 * 1024
HEADER_LIMIT = 64 * 1024
USER_AGENT = "hspm-validator"


@dataclass(frozen=True)
class HttpResponse:
    """A bounded HTTP answer: header names lower-cased; ``truncated`` if the body was longer."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    truncated: bool = False

    def head(self, n: int = 200) -> str:
        """The first bytes of the body as text, for evidence."""
        return self.body[:n].decode("utf-8", "replace")


def get_request(port: int, path: str, headers: Mapping[str, str]) -> bytes:
    """The bytes of ``GET path``; ``Connection: close`` lets the body end at EOF when unsized."""
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"User-Agent: {USER_AGENT}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def read_response(reader: asyncio.StreamReader, limit: int = BODY_LIMIT) -> HttpResponse:
    """Parse one response: status line, headers, then a body bounded by ``limit``."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError as exc:
        raise ValueError("response headers too long") from exc
    except asyncio.IncompleteReadError as exc:
        raise ValueError(
            f"connection closed after {len(exc.partial)} bytes, before the headers ended"
        ) from exc
    status, headers = parse_head(head)
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body, truncated = await _read_chunked(reader, limit)
    elif headers.get("content-length", "").isdigit():
        body, truncated = await _read_sized(reader, int(headers["content-length"]), limit)
    else:
        body, truncated = await _read_to_eof(reader, limit)
    return HttpResponse(status, headers, body, truncated)


def parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    """The status code and lower-cased headers of a response head."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ValueError(f"not an HTTP status line: {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers


async def _read_sized(reader: asyncio.StreamReader, size: int, limit: int) -> tuple[bytes, bool]:
    try:
        body = await reader.readexactly(min(size, limit))
    except asyncio.IncompleteReadError as exc:
        body = exc.partial
    return body, size > limit


async def _read_to_eof(reader: asyncio.StreamReader, limit: int) -> tuple[bytes, bool]:
    body = b""
    while len(body) <= limit:
        chunk = await reader.read(limit + 1 - len(body))
        if not chunk:
            return body, False
        body += chunk
    return body[:limit], True


async def _read_chunked(reader: asyncio.StreamReader, limit: int) -> tuple[bytes, bool]:
    body = b""
    while True:
        size_line = await reader.readline()
        size_text = size_line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ValueError(f"bad chunk size {size_text[:20]!r}") from None
        if size == 0:
            return body, False
        want = min(size, limit - len(body))
        body += await reader.readexactly(want)
        if want < size:
            return body, True
        await reader.readline()  # the CRLF closing the chunk
