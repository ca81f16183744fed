"""The pulled image on disk: an OCI image layout that ``umoci unpack`` reads.

Layers are written blob by blob while they download (hashed on the way, in a worker thread,
so a large layer never blocks the event loop); once all are verified the config, an OCI
manifest over the same blobs and ``index.json`` complete the layout.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from hspm.validator.static.manifests import OCI_CONFIG, OCI_INDEX, OCI_MANIFEST, Resolved, sha256

# The layout's layer type follows the bytes, not the registry's label: docker's gzip
# layer is byte for byte an OCI tar+gzip layer.
OCI_LAYER = {
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
    "none": "application/vnd.oci.image.layer.v1.tar",
}
REF_NAME = "org.opencontainers.image.ref.name"
LAYOUT_TAG = "img"
FLUSH = 1024 * 1024  # bytes buffered before one write (and hash) in a worker thread


class BlobWriter:
    """Buffers chunks and writes and hashes them in a worker thread, a megabyte at a time."""

    def __init__(self, path: Path, handle: IO[bytes]) -> None:
        self.path = path
        self.handle = handle
        self.hasher = hashlib.sha256()
        self.buffer = bytearray()

    @classmethod
    async def create(cls, path: Path) -> BlobWriter:
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


def _put_blob(blobs: Path, data: bytes) -> str:
    digest = sha256(data)
    (blobs / digest.removeprefix("sha256:")).write_bytes(data)
    return digest


def write_layout(
    layout: Path,
    resolved: Resolved,
    compressions: list[str],
    replaced: Sequence[dict[str, Any] | None] = (),
) -> None:
    """``oci-layout``, the config blob, an OCI manifest over the pulled layers, ``index.json``.

    The manifest is rewritten with OCI media types over the same blobs, so ``umoci unpack
    --image <layout>:img`` works whatever format the registry stored. It is written again
    after the scan when a layer is ``replaced`` (a zstd layer by the tar that was scanned:
    ``umoci`` cannot unpack zstd).
    """
    layers = [
        {"mediaType": OCI_LAYER[kind], "digest": layer["digest"], "size": layer["size"]}
        for layer, kind in zip(resolved.layers, compressions, strict=True)
    ]
    for i, descriptor in enumerate(replaced):
        if descriptor is not None:
            layers[i] = descriptor
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    config_digest = _put_blob(blobs, resolved.config_raw)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(resolved.config_raw)},
        "layers": layers,
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
