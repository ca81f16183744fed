"""A Distribution v2 client for the static phase: resolve, verify, and pull into an OCI layout.

Every body is read with a hard cap while it streams (a Content-Length is never trusted
alone) and checked against its digest. Every host contacted goes through the run's
:class:`~hspm.validator.static.reference.Guard`, and redirects are followed by hand, at most
three, so each target is checked before the client connects to it. What the documents must
be is checked in ``manifests``, how an answer is read in ``responses``, and where the layers
land in ``layout``; this module is the conversation with the registry.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from yarl import URL

from hspm.common.events.curation import ValidationPolicy
from hspm.validator.facts import Target
from hspm.validator.static.layers import sniff
from hspm.validator.static.layout import BlobWriter, write_layout
from hspm.validator.static.manifests import (
    ACCEPT,
    IMAGE_TYPES,
    INDEX_TYPES,
    NotAnImage,
    RegistryError,
    Resolved,
    TooLarge,
    check_image_manifest,
    clean,
    document,
    manifest_type,
    pick_entry,
    platform_of,
    sha256,
)
from hspm.validator.static.reference import Guard, Pinned, ReferenceRefused
from hspm.validator.static.responses import CHUNK, SMALL_BODY, expect_ok, parse_challenge, read_capped

MAX_REDIRECTS = 3
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class _Budget:
    """The running total of layer bytes; exceeding it stops the download at once."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def take(self, n: int) -> None:
        self.used += n
        if self.used > self.limit:
            raise TooLarge(
                f"the layers exceed the limit of {self.limit} bytes; "
                f"the download stopped after {self.used} bytes"
            )


async def _parsed(body: bytes, what: str) -> dict[str, Any]:
    """A manifest or config (megabytes, the registry's) parsed in a worker thread."""
    return await asyncio.to_thread(document, body, what)


class RegistryClient:
    """Anonymous pulls of one target over an aiohttp session, under one policy and guard."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        target: Target,
        policy: ValidationPolicy,
        guard: Guard,
        timeout: float,
    ) -> None:
        self.http = http
        self.target = target
        self.policy = policy
        self.guard = guard
        self.base = URL(target.base_url)
        self.small = aiohttp.ClientTimeout(total=timeout)
        # A big layer may take longer than ``timeout`` in all; a stalled one may not.
        self.stream = aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout)
        self.timeout = timeout
        self._token: str | None = None

    # --- public ---------------------------------------------------------------------------

    async def resolve(self) -> Resolved:
        """Ping, fetch and verify the manifest (through an index), then the config."""
        try:
            return await self._resolve()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RegistryError(self._network_error(exc)) from exc

    async def pull(self, resolved: Resolved, workdir: Path) -> Path:
        """Every layer into ``<workdir>/layout`` (verified, size-bounded); returns the layout."""
        try:
            return await self._pull(resolved, workdir / "layout")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RegistryError(self._network_error(exc)) from exc

    # --- resolving ------------------------------------------------------------------------

    async def _resolve(self) -> Resolved:
        await self._ping()
        body, media_type, digest = await self._manifest(self.target.reference)
        doc = await _parsed(body, "the manifest")
        media_type = manifest_type(doc, media_type)
        index_digest, platforms = None, list[str]()
        if media_type in INDEX_TYPES:
            index_digest = digest
            entry, platforms = pick_entry(doc)
            body, media_type, digest = await self._manifest(entry["digest"], entry["size"])
            doc = await _parsed(body, "the image manifest")
            media_type = manifest_type(doc, media_type)
            if media_type in INDEX_TYPES:
                raise NotAnImage("the index's entry is itself an index; nested indexes are not one image")
        if media_type not in IMAGE_TYPES:
            raise NotAnImage(f"the manifest type {clean(media_type, 80)!r} is not a container image")
        check_image_manifest(doc, media_type)
        config_raw = await self._config(doc["config"])
        config = await _parsed(config_raw, "the image config")
        return Resolved(
            target=self.target,
            digest=digest,
            media_type=media_type,
            manifest=doc,
            config=config,
            config_raw=config_raw,
            index_digest=index_digest,
            platforms=platforms or [platform_of(config)],
        )

    async def _ping(self) -> None:
        async with self._open(self.base.with_path("/v2/"), small=True) as resp:
            if resp.status != 200:
                refused = " (anonymous access refused)" if resp.status in (401, 403) else ""
                raise RegistryError(
                    f"{self.target.registry} does not answer the registry v2 API "
                    f"(GET /v2/: HTTP {resp.status}{refused})"
                )

    async def _manifest(self, reference: str, size: int | None = None) -> tuple[bytes, str, str]:
        """The manifest's bytes, Content-Type and verified digest."""
        where = f"{self.target.registry}/{self.target.repository}"
        # Re-validation sends the digest approval pinned: say so when it is gone.
        pinned = size is None and reference.startswith("sha256:")
        what = f"the pinned digest {reference} of {where}" if pinned else f"manifest {reference} of {where}"
        cap = self.policy.max_manifest_bytes
        if size is not None and size > cap:
            raise TooLarge(f"{what} is {size} bytes; the limit is {cap}")
        url = self.base.with_path(f"/v2/{self.target.repository}/manifests/{reference}")
        async with self._open(url, accept=ACCEPT, small=True) as resp:
            await expect_ok(resp, what)

            def too_big(n: int) -> RegistryError:
                return TooLarge(f"{what} exceeds the limit of {cap} bytes (read stopped at {n})")

            body = await read_capped(resp, cap, too_big)
            content_type = resp.headers.get("Content-Type", "")
            header_digest = resp.headers.get("Docker-Content-Digest", "")
        digest = await asyncio.to_thread(sha256, body)
        if reference.startswith("sha256:") and digest != reference:
            raise RegistryError(f"{what}: the body's digest is {digest}, not the requested one")
        if header_digest.startswith("sha256:") and header_digest != digest:
            raise RegistryError(
                f"{what}: Docker-Content-Digest says {clean(header_digest, 80)} but the body is {digest}"
            )
        if size is not None and len(body) != size:
            raise RegistryError(f"{what}: {len(body)} bytes where the index says {size}")
        return body, content_type, digest

    async def _config(self, config: dict[str, Any]) -> bytes:
        what = f"config {config['digest']}"
        size, cap = config["size"], self.policy.max_config_bytes
        if size > cap:
            raise TooLarge(f"{what} is {size} bytes; the limit is {cap}")
        async with self._open(self._blob_url(config["digest"]), small=True) as resp:
            await expect_ok(resp, what)
            body = await read_capped(
                resp, size, lambda n: RegistryError(f"{what} is larger than its {size} bytes")
            )
        got = await asyncio.to_thread(sha256, body)
        if len(body) != size or got != config["digest"]:
            raise RegistryError(f"{what}: the blob ({len(body)} bytes, {got}) does not match its descriptor")
        return body

    # --- pulling --------------------------------------------------------------------------

    async def _pull(self, resolved: Resolved, layout: Path) -> Path:
        layers = resolved.layers
        self._check_budget(layers)
        blobs = layout / "blobs" / "sha256"
        await asyncio.to_thread(blobs.mkdir, parents=True, exist_ok=True)
        budget = _Budget(self.policy.max_image_bytes)
        compression: dict[str, str] = {}
        for i, layer in enumerate(layers, 1):
            if layer["digest"] not in compression:  # a layer may repeat (empty layers do)
                what = f"layer {i}/{len(layers)} ({layer['digest']})"
                compression[layer["digest"]] = await self._download(layer, blobs, budget, what)
        await asyncio.to_thread(write_layout, layout, resolved, [compression[la["digest"]] for la in layers])
        return layout

    def _check_budget(self, layers: list[dict[str, Any]]) -> None:
        """Refuse before any download when the manifest already says it is too big."""
        if len(layers) > self.policy.max_layers:
            raise TooLarge(
                f"{len(layers)} layers; the limit is {self.policy.max_layers} (nothing downloaded)"
            )
        declared = sum(int(layer["size"]) for layer in layers)
        if declared > self.policy.max_image_bytes:
            raise TooLarge(
                f"the layers total {declared} bytes compressed; the limit is {self.policy.max_image_bytes} "
                "(nothing downloaded)"
            )

    async def _download(self, layer: dict[str, Any], blobs: Path, budget: _Budget, what: str) -> str:
        """One layer to ``blobs/<hex>``, verified; returns its compression (by magic bytes)."""
        digest, size = layer["digest"], layer["size"]
        final = blobs / digest.removeprefix("sha256:")
        partial = final.with_name(final.name + ".partial")
        async with self._open(self._blob_url(digest), small=False) as resp:
            await expect_ok(resp, what)
            if resp.content_length is not None and resp.content_length != size:
                raise RegistryError(f"{what}: Content-Length {resp.content_length} is not its size {size}")
            writer = await BlobWriter.create(partial)
            try:
                head = await self._stream(resp, writer, size, budget, what)
                got = await writer.close()
            except BaseException:
                await writer.abort()
                raise
        if got != digest:
            await asyncio.to_thread(partial.unlink, True)
            raise RegistryError(f"{what}: the downloaded bytes hash to {got}")
        await asyncio.to_thread(partial.replace, final)
        return sniff(head)

    async def _stream(
        self, resp: aiohttp.ClientResponse, writer: BlobWriter, size: int, budget: _Budget, what: str
    ) -> bytes:
        got, head = 0, b""
        async for chunk in resp.content.iter_chunked(CHUNK):
            got += len(chunk)
            if got > size:
                raise RegistryError(f"{what} is larger than its {size} bytes")
            budget.take(len(chunk))
            if len(head) < 8:
                head = (head + chunk)[:8]
            await writer.write(chunk)
        if got != size:
            raise RegistryError(f"{what}: {got} bytes received of {size}")
        return head

    # --- HTTP -----------------------------------------------------------------------------

    def _blob_url(self, digest: str) -> URL:
        return self.base.with_path(f"/v2/{self.target.repository}/blobs/{digest}")

    @asynccontextmanager
    async def _open(
        self, url: URL, *, accept: str | None = None, small: bool
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """GET with redirects checked and followed by hand, and one token dance on a 401."""
        timeout = self.small if small else self.stream
        resp = await self._follow(url, accept, timeout)
        if resp.status == 401:
            challenge = parse_challenge(resp.headers.getall("WWW-Authenticate", []))
            resp.release()
            if challenge is None:
                raise RegistryError(
                    f"{self.target.registry} wants credentials (no Bearer challenge); "
                    "the validator pulls anonymously"
                )
            await self._fetch_token(challenge)
            resp = await self._follow(url, accept, timeout)
        try:
            yield resp
        finally:
            resp.release()

    async def _follow(
        self, url: URL, accept: str | None, timeout: aiohttp.ClientTimeout, *, auth: bool = True
    ) -> aiohttp.ClientResponse:
        for _ in range(MAX_REDIRECTS + 1):
            resp = await self._send(url, accept, timeout, auth)
            if resp.status not in _REDIRECTS:
                return resp
            location = resp.headers.get("Location", "")
            resp.release()
            try:
                url = url.join(URL(location))
            except ValueError as exc:
                raise RegistryError(f"{url.path}: an unreadable redirect") from exc
        raise RegistryError(f"{url.path}: more than {MAX_REDIRECTS} redirects")

    async def _send(
        self, url: URL, accept: str | None, timeout: aiohttp.ClientTimeout, auth: bool
    ) -> aiohttp.ClientResponse:
        try:
            pinned: Pinned = await self.guard.check(url)
        except ReferenceRefused as exc:
            raise RegistryError(f"refused to connect for {url.path}: {exc}") from exc
        # No compression: the digest is over the stored bytes, and no bomb can inflate them.
        headers = {"Accept-Encoding": "identity"}
        if accept:
            headers["Accept"] = accept
        if pinned.host_header:
            headers["Host"] = pinned.host_header
        # The token is the registry's; storage behind a redirect must not see it.
        if auth and self._token and url.origin() == self.base.origin():
            headers["Authorization"] = f"Bearer {self._token}"
        return await self.http.get(
            pinned.url,
            headers=headers,
            allow_redirects=False,
            timeout=timeout,
            server_hostname=pinned.server_hostname,
            auto_decompress=False,
        )

    async def _fetch_token(self, challenge: dict[str, str]) -> None:
        """An anonymous pull token for the repository from the challenge's realm."""
        try:
            realm = self.base.join(URL(challenge["realm"]))
        except ValueError as exc:
            raise RegistryError("the registry's token realm is not a URL") from exc
        query = {"scope": f"repository:{self.target.repository}:pull"}
        if challenge.get("service"):
            query["service"] = challenge["service"]
        where = f"token service {realm.origin()}"
        resp = await self._follow(realm.update_query(query), "application/json", self.small, auth=False)
        try:
            if resp.status != 200:
                raise RegistryError(f"{where}: HTTP {resp.status} (anonymous pulls may not be allowed)")
            body = await read_capped(
                resp, SMALL_BODY, lambda n: RegistryError(f"{where}: an oversized reply")
            )
        finally:
            resp.release()
        doc = document(body, f"the reply of {where}")
        token = doc.get("token") or doc.get("access_token")
        if not isinstance(token, str) or not token:
            raise RegistryError(f"{where}: the reply holds no token")
        self._token = token

    def _network_error(self, exc: BaseException) -> str:
        if isinstance(exc, TimeoutError):
            return f"{self.target.registry}: no answer within {self.timeout:g} s"
        return f"{self.target.registry}: {clean(str(exc) or type(exc).__name__)}"
