"""The minimal HTTP/1.1 response reader used over sockets made inside a container's netns."""

from __future__ import annotations

import asyncio

import pytest

from hspm.validator.smoke.http import parse_head, read_response


def _reader(data: bytes) -> asyncio.StreamReader:
    reader = asyncio.StreamReader(limit=64 * 1024)
    reader.feed_data(data)
    reader.feed_eof()
    return reader


class TestReadResponse:
    async def test_content_length(self) -> None:
        resp = await read_response(_reader(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: b\r\n\r\nokEXTRA"))
        assert (resp.status, resp.body, resp.truncated) == (200, b"ok", False)
        assert resp.headers["x-a"] == "b"

    async def test_body_to_eof(self) -> None:
        resp = await read_response(_reader(b"HTTP/1.0 404 Not Found\r\n\r\n<html>gone</html>"))
        assert (resp.status, resp.body) == (404, b"<html>gone</html>")

    async def test_chunked(self) -> None:
        raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n"
        resp = await read_response(_reader(raw))
        assert resp.body == b"abcde" and not resp.truncated

    async def test_body_is_bounded(self) -> None:
        resp = await read_response(_reader(b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 5000), limit=1000)
        assert len(resp.body) == 1000 and resp.truncated
        sized = await read_response(
            _reader(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + b"x" * 5000), 10
        )
        assert len(sized.body) == 10 and sized.truncated
        chunked = (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n" + b"y" * 16 + b"\r\n0\r\n\r\n"
        )
        cut = await read_response(_reader(chunked), 8)
        assert cut.body == b"y" * 8 and cut.truncated

    async def test_garbage_is_refused(self) -> None:
        with pytest.raises(ValueError, match="not an HTTP status line"):
            await read_response(_reader(b"SSH-2.0-OpenSSH\r\n\r\n"))
        with pytest.raises(ValueError, match="before the headers ended"):
            await read_response(_reader(b"HTTP/1.1 200 OK\r\n"))

    def test_parse_head(self) -> None:
        assert parse_head(b"HTTP/1.1 204 No Content\r\nA: 1\r\nB:2\r\n\r\n") == (204, {"a": "1", "b": "2"})
