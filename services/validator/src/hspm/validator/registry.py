"""A Distribution v2 client for the static phase: resolve, verify, and pull into an OCI layout.

Every body is read with a hard cap while it streams (a Content-Length is never trusted
alone) and checked against its digest. Every host contacted goes through the run's
:class:`~hspm.validator.reference.Guard`, and redirects are followed by hand, at most
three, so each target is checked before the client connects to it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import aiohttp
from yarl import URL

from hspm.common.events.curation import ValidationPolicy
from hspm.validator.facts import ImageFacts, Target
from hspm.validator.layers import sniff
from hspm.validator.reference import Guard, Pinned, ReferenceRefused

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
# Registry 2.8 converts a docker image to schema 1 unless the Accept list names v2, and
# answers 404 for an OCI image unless it names OCI: always send all four.
ACCEPT = ", ".join((OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST))
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
IMAGE_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
CONFIG_TYPES = frozenset({OCI_CONFIG, DOCKER_CONFIG})
SCHEMA1_TYPES = frozenset(
    {
        "application/vnd.docker.distribution.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
    }
)
LAYER_TYPES = frozenset(
    {
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "application/vnd.docker.image.rootfs.diff.tar",
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/vnd.oci.image.layer.v1.tar+zstd",
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    }
)
# The layout's layer type follows the bytes, not the registry's label: docker's gzip
# layer is byte for byte an OCI tar+gzip layer.
OCI_LAYER = {
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
    "none": "application/vnd.oci.image.layer.v1.tar",
}
REF_NAME = "org.opencontainers.image.ref.name"
LAYOUT_TAG = "img"
AMD64 = "linux/amd64"
MAX_REDIRECTS = 3
SMALL_BODY = 64 * 1024  # error documents and token replies
CHUNK = 64 * 1024
FLUSH = 1024 * 1024  # bytes buffered before one write (and hash) in a worker thread
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_PARAM = re.compile(r'(\w+)=(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')
_GENERIC_TYPES = frozenset({"", "application/json", "text/plain", "application/octet-stream"})


class RegistryError(Exception):
    """A pull failed; the message is fit for a report. ``rule`` is the rule it decides."""

    rule = "image.resolvable"


class TooLarge(RegistryError):
    """A manifest, config or the layers exceed the operator's limits; reading stopped there."""

    rule = "image.size"


class NotAnImage(RegistryError):
    """The reference names something other than one container image (an artifact, a nested index)."""

    rule = "image.single"


@dataclass
class Resolved:
    """The image manifest chosen for linux/amd64 (or the nearest there is) and its config."""

    target: Target
    digest: str
    media_type: str
    manifest: dict[str, Any]
    config: dict[str, Any]
    config_raw: bytes
    index_digest: str | None = None
    # What an index offers ("os/arch[/variant]"); a single manifest's own platform otherwise.
    platforms: list[str] = field(default_factory=list)

    @property
    def layers(self) -> list[dict[str, Any]]:
        layers: list[dict[str, Any]] = self.manifest["layers"]
        return layers

    @property
    def platform(self) -> str:
        """The platform the config itself declares (what the sandbox would run)."""
        return _platform(self.config)

    def facts(self, layout: Path | None) -> ImageFacts:
        return ImageFacts(
            target=self.target,
            digest=self.digest,
            media_type=self.media_type,
            config=self.config,
            layers=self.layers,
            index_digest=self.index_digest,
            platforms=self.platforms,
            layout=layout,
        )


def _platform(doc: dict[str, Any]) -> str:
    parts = [str(doc.get("os") or "unknown"), str(doc.get("architecture") or "unknown")]
    if doc.get("variant"):
        parts.append(str(doc["variant"]))
    return "/".join(parts)


def _clean(text: str, limit: int = 200) -> str:
    """Registry-supplied text in a message: printable and short."""
    text = "".join(c if c.isprintable() else "?" for c in text.strip())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def parse_challenge(headers: list[str]) -> dict[str, str] | None:
    """The parameters of a ``WWW-Authenticate: Bearer realm=...,service=...`` challenge."""
    for header in headers:
        scheme, _, rest = header.strip().partition(" ")
        if scheme.lower() != "bearer":
            continue
        params = {m[1].lower(): m[2] if m[2] is not None else m[3] for m in _PARAM.finditer(rest)}
        if params.get("realm"):
            return params
    return None


def media_type_of(doc: dict[str, Any], content_type: str) -> str:
    """The body's own ``mediaType``; else Content-Type (umoci omits it); else the JSON's shape."""
    declared = doc.get("mediaType")
    if isinstance(declared, str) and declared:
        return declared
    header = content_type.split(";")[0].strip().lower()
    if header not in _GENERIC_TYPES:
        return header
    if "manifests" in doc:
        return OCI_INDEX
    if "config" in doc and "layers" in doc:
        return OCI_MANIFEST
    return header


def descriptor(value: Any, where: str) -> dict[str, Any]:
    """A content descriptor we can fetch: a sha256 digest and a non-negative size."""
    if not isinstance(value, dict):
        raise RegistryError(f"{where} is not a descriptor object")
    digest, size = value.get("digest"), value.get("size")
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise RegistryError(
            f"{where} has digest {_clean(str(digest), 80)!r}; only sha256 digests are supported"
        )
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise RegistryError(f"{where} has no valid size")
    return value


def check_image_manifest(doc: dict[str, Any], media_type: str) -> None:
    """An image manifest: schema 2, an image config, tar layers (else an artifact)."""
    if doc.get("schemaVersion") != 2:
        raise RegistryError(f"manifest schemaVersion {doc.get('schemaVersion')!r} is not 2")
    if doc.get("artifactType"):
        raise NotAnImage(f"an OCI artifact ({_clean(str(doc['artifactType']), 80)}), not a container image")
    config = descriptor(doc.get("config"), "the manifest's config")
    if config.get("mediaType") not in CONFIG_TYPES:
        raise NotAnImage(
            f"config type {_clean(str(config.get('mediaType')), 80)!r} is not an image config: "
            "an artifact, not a container image"
        )
    layers = doc.get("layers")
    if not isinstance(layers, list):
        raise RegistryError("the manifest has no layer list")
    for i, layer in enumerate(layers, 1):
        descriptor(layer, f"layer {i}")
        if layer.get("mediaType") not in LAYER_TYPES:
            raise NotAnImage(
                f"layer {i} has type {_clean(str(layer.get('mediaType')), 80)!r}, not an image layer"
            )


def pick_entry(index: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The linux/amd64 image of an index (else the first linux image), and every platform listed.

    Attestation entries (platform unknown/unknown) are not platforms and are never picked.
    """
    entries = index.get("manifests")
    if not isinstance(entries, list):
        raise RegistryError("the index has no manifest list")
    images: list[tuple[str, dict[str, Any]]] = []
    for i, entry in enumerate(entries, 1):
        descriptor(entry, f"index entry {i}")
        if entry.get("mediaType") in INDEX_TYPES:
            raise NotAnImage(f"index entry {i} is itself an index; nested indexes are not one image")
        platform = entry.get("platform")
        name = _platform(platform) if isinstance(platform, dict) else "unknown/unknown"
        if entry.get("mediaType") in IMAGE_TYPES and name != "unknown/unknown":
            images.append((name, entry))
    if not images:
        raise NotAnImage("the index lists no image manifest for any platform")
    platforms = [name for name, _ in images]
    for prefix in (AMD64, "linux/"):
        for name, entry in images:
            if name == prefix or name.startswith(prefix.rstrip("/") + "/"):
                return entry, platforms
    return images[0][1], platforms


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


class _BlobWriter:
    """Buffers chunks and writes and hashes them in a worker thread, a megabyte at a time."""

    def __init__(self, path: Path, handle: IO[bytes]) -> None:
        self.path = path
        self.handle = handle
        self.hasher = hashlib.sha256()
        self.buffer = bytearray()

    @classmethod
    async def create(cls, path: Path) -> _BlobWriter:
        return cls(path, await asyncio.to_thread(path.open, "wb"))

    async def write(self, chunk: bytes) -> None:
        self.buffer += chunk
        if len(self.buffer) >= FLUSH:
            await self._flush()

    async def _flush(self) -> None:
        data, self.buffer = bytes(self.buffer), bytearray()
        await asyncio.to_thread(self._write, data)

    def _write(self, data: bytes) -> None:
        self.hasher.update(data)
        self.handle.write(data)

    async def close(self) -> str:
        await self._flush()
        await asyncio.to_thread(self.handle.close)
        return "sha256:" + self.hasher.hexdigest()

    async def abort(self) -> None:
        await asyncio.to_thread(self.handle.close)
        await asyncio.to_thread(self.path.unlink, True)


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
        doc = _json(body, "the manifest")
        media_type = self._manifest_type(doc, media_type)
        index_digest, platforms = None, list[str]()
        if media_type in INDEX_TYPES:
            index_digest = digest
            entry, platforms = pick_entry(doc)
            body, media_type, digest = await self._manifest(entry["digest"], entry["size"])
            doc = _json(body, "the image manifest")
            media_type = self._manifest_type(doc, media_type)
            if media_type in INDEX_TYPES:
                raise NotAnImage("the index's entry is itself an index; nested indexes are not one image")
        if media_type not in IMAGE_TYPES:
            raise NotAnImage(f"the manifest type {_clean(media_type, 80)!r} is not a container image")
        check_image_manifest(doc, media_type)
        config_raw = await self._config(doc["config"])
        config = _json(config_raw, "the image config")
        return Resolved(
            target=self.target,
            digest=digest,
            media_type=media_type,
            manifest=doc,
            config=config,
            config_raw=config_raw,
            index_digest=index_digest,
            platforms=platforms or [_platform(config)],
        )

    def _manifest_type(self, doc: dict[str, Any], content_type: str) -> str:
        media_type = media_type_of(doc, content_type)
        if media_type in SCHEMA1_TYPES or doc.get("schemaVersion") == 1:
            raise RegistryError(
                "the registry served a schema 1 manifest (deprecated, no content digests); "
                "push the image with a current client"
            )
        return media_type

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
        what = f"manifest {reference} of {self.target.registry}/{self.target.repository}"
        cap = self.policy.max_manifest_bytes
        if size is not None and size > cap:
            raise TooLarge(f"{what} is {size} bytes; the limit is {cap}")
        url = self.base.with_path(f"/v2/{self.target.repository}/manifests/{reference}")
        async with self._open(url, accept=ACCEPT, small=True) as resp:
            await _expect_ok(resp, what)

            def too_big(n: int) -> RegistryError:
                return TooLarge(f"{what} exceeds the limit of {cap} bytes (read stopped at {n})")

            body = await _read_capped(resp, cap, too_big)
            content_type = resp.headers.get("Content-Type", "")
            header_digest = resp.headers.get("Docker-Content-Digest", "")
        digest = sha256(body)
        if reference.startswith("sha256:") and digest != reference:
            raise RegistryError(f"{what}: the body's digest is {digest}, not the requested one")
        if header_digest.startswith("sha256:") and header_digest != digest:
            raise RegistryError(
                f"{what}: Docker-Content-Digest says {_clean(header_digest, 80)} but the body is {digest}"
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
            await _expect_ok(resp, what)
            body = await _read_capped(
                resp, size, lambda n: RegistryError(f"{what} is larger than its {size} bytes")
            )
        if len(body) != size or sha256(body) != config["digest"]:
            raise RegistryError(
                f"{what}: the blob ({len(body)} bytes, {sha256(body)}) does not match its descriptor"
            )
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
            await _expect_ok(resp, what)
            if resp.content_length is not None and resp.content_length != size:
                raise RegistryError(f"{what}: Content-Length {resp.content_length} is not its size {size}")
            writer = await _BlobWriter.create(partial)
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
        self, resp: aiohttp.ClientResponse, writer: _BlobWriter, size: int, budget: _Budget, what: str
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
            body = await _read_capped(
                resp, SMALL_BODY, lambda n: RegistryError(f"{where}: an oversized reply")
            )
        finally:
            resp.release()
        doc = _json(body, f"the reply of {where}")
        token = doc.get("token") or doc.get("access_token")
        if not isinstance(token, str) or not token:
            raise RegistryError(f"{where}: the reply holds no token")
        self._token = token

    def _network_error(self, exc: BaseException) -> str:
        if isinstance(exc, TimeoutError):
            return f"{self.target.registry}: no answer within {self.timeout:g} s"
        return f"{self.target.registry}: {_clean(str(exc) or type(exc).__name__)}"


async def _read_capped(
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


async def _expect_ok(resp: aiohttp.ClientResponse, what: str) -> None:
    encoding = resp.headers.get("Content-Encoding", "identity").strip().lower()
    if resp.status == 200 and encoding in ("", "identity"):
        return
    if resp.status == 200:
        raise RegistryError(
            f"{what}: sent with Content-Encoding {_clean(encoding, 40)} though identity was asked"
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
        body = await _read_capped(resp, SMALL_BODY, lambda n: RegistryError("oversized"))
        errors = json.loads(body).get("errors") or []
        first = errors[0]
        return f": {_clean(str(first.get('code', '')), 40)}: {_clean(str(first.get('message', '')), 120)}"
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


def _json(body: bytes, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise RegistryError(f"{what} is not JSON") from exc
    if not isinstance(doc, dict):
        raise RegistryError(f"{what} is not a JSON object")
    return doc


def _put_blob(blobs: Path, data: bytes) -> str:
    digest = sha256(data)
    (blobs / digest.removeprefix("sha256:")).write_bytes(data)
    return digest


def write_layout(layout: Path, resolved: Resolved, compressions: list[str]) -> None:
    """``oci-layout``, the config blob, an OCI manifest over the pulled layers, ``index.json``.

    The manifest is rewritten with OCI media types over the same blobs, so ``umoci unpack
    --image <layout>:img`` works whatever format the registry stored.
    """
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    config_digest = _put_blob(blobs, resolved.config_raw)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(resolved.config_raw)},
        "layers": [
            {"mediaType": OCI_LAYER[kind], "digest": layer["digest"], "size": layer["size"]}
            for layer, kind in zip(resolved.layers, compressions, strict=True)
        ],
    }
    raw = json.dumps(manifest, separators=(",", ":")).encode()
    entry: dict[str, Any] = {
        "mediaType": OCI_MANIFEST,
        "digest": _put_blob(blobs, raw),
        "size": len(raw),
        "annotations": {REF_NAME: LAYOUT_TAG},
    }
    if resolved.config.get("os") and resolved.config.get("architecture"):
        entry["platform"] = {"os": resolved.config["os"], "architecture": resolved.config["architecture"]}
    (layout / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    (layout / "index.json").write_text(
        json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [entry]})
    )
