"""A registry's HTTP answers: bodies read under a cap, statuses turned into report-ready errors.

A registry is not trusted to be small or polite: every body is read with a hard cap while it
streams, a compressed answer to an identity request is refused (the digest is over the stored
bytes), and an error document's code and message are quoted, cleaned, in the report.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import aiohttp

from hspm.validator import regex
from hspm.validator.static.manifests import RegistryError, clean

SMALL_BODY = 64 * 1024  # error documents and token replies
CHUNK = 64 * 1024
_PARAM = regex.compile(r'(\w+)=(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


def parse_challenge(headers: list[str]) -> dict[str, str] | None:
    """The parameters of a ``WWW-Authenticate: Bearer realm=...,service=...`` challenge."""
    for header in headers:
        scheme, _, rest = header.strip().partition(" ")
        if scheme.lower() != "bearer":
            continue
        params = {
            (key or "").lower(): quoted if quoted is not None else (bare or "")
            for key, quoted, bare in _PARAM.groups(rest)
        }
        if params.get("realm"):
            return params
    return None


async def read_capped(
    resp: aiohttp.ClientResponse, limit: int, too_big: Callable[[int], RegistryError]
) -> bytes:
    """The body, refused as soon as it passes ``limit`` bytes (announced or streamed)."""
    if resp.content_length is not None and resp.content_length > limit:
        raise too_big(resp.content_length)
    body = bytearray()
    async for chunk in resp.content.iter_chunked(CHUNK):
        body += chunk
        if len(body) > limit:
            raise too_big(len(body))
    return bytes(body)


async def expect_ok(resp: aiohttp.ClientResponse, what: str) -> None:
    encoding = resp.headers.get("Content-Encoding", "identity").strip().lower()
    if resp.status == 200 and encoding in ("", "identity"):
        return
    if resp.status == 200:
        raise RegistryError(
            f"{what}: sent with Content-Encoding {clean(encoding, 40)} though identity was asked"
        )
    detail = await _error_detail(resp)
    if resp.status == 404:
        raise RegistryError(f"{what}: not found (HTTP 404{detail})")
    if resp.status in (401, 403):
        raise RegistryError(f"{what}: anonymous pull refused (HTTP {resp.status}{detail})")
    if resp.status == 429:
        raise RegistryError(f"{what}: the registry is rate limiting pulls (HTTP 429)")
    raise RegistryError(f"{what}: HTTP {resp.status}{detail}")


async def _error_detail(resp: aiohttp.ClientResponse) -> str:
    """``: CODE: message`` from a registry error document, when there is one."""
    try:
        body = await read_capped(resp, SMALL_BODY, lambda n: RegistryError("oversized"))
        errors = json.loads(body).get("errors") or []
        first = errors[0]
        return f": {clean(str(first.get('code', '')), 40)}: {clean(str(first.get('message', '')), 120)}"
    except (
        RegistryError,
        aiohttp.ClientError,
        TimeoutError,
        ValueError,
        AttributeError,
        IndexError,
        TypeError,
    ):
        return ""
