"""What a registry serves, read as documents: media types, descriptors, manifests and indexes.

Nothing here does I/O. The client (``registry``) fetches bytes and hands them here to be
parsed and checked, so every rule about what counts as one container image (schema 2, an
image config, tar layers, sha256 digests, a linux/amd64 entry of an index) sits in one place
and is tested without a registry. The errors carry the rule their failure decides.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hspm.validator import regex
from hspm.validator.facts import ImageFacts, Target

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
AMD64 = "linux/amd64"
_DIGEST = regex.compile(r"sha256:[0-9a-f]{64}")
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
        return platform_of(self.config)

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


def platform_of(doc: dict[str, Any]) -> str:
    """``os/architecture[/variant]`` of a config or an index entry's platform."""
    parts = [str(doc.get("os") or "unknown"), str(doc.get("architecture") or "unknown")]
    if doc.get("variant"):
        parts.append(str(doc["variant"]))
    return "/".join(parts)


def clean(text: str, limit: int = 200) -> str:
    """Registry-supplied text in a message: printable and short."""
    text = "".join(c if c.isprintable() else "?" for c in text.strip())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def document(body: bytes, what: str) -> dict[str, Any]:
    """``body`` as a JSON object, or a RegistryError naming ``what`` it should have been.

    CPU-bound on a large body: the registry client calls it in a worker thread.
    """
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise RegistryError(f"{what} is not JSON") from exc
    except RecursionError:
        raise RegistryError(f"{what} nests too deeply to be read") from None
    if not isinstance(doc, dict):
        raise RegistryError(f"{what} is not a JSON object")
    return doc


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
            f"{where} has digest {clean(str(digest), 80)!r}; only sha256 digests are supported"
        )
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise RegistryError(f"{where} has no valid size")
    return value


def check_image_manifest(doc: dict[str, Any], media_type: str) -> None:
    """An image manifest: schema 2, an image config, tar layers (else an artifact)."""
    if doc.get("schemaVersion") != 2:
        raise RegistryError(f"manifest schemaVersion {doc.get('schemaVersion')!r} is not 2")
    if doc.get("artifactType"):
        raise NotAnImage(f"an OCI artifact ({clean(str(doc['artifactType']), 80)}), not a container image")
    config = descriptor(doc.get("config"), "the manifest's config")
    if config.get("mediaType") not in CONFIG_TYPES:
        raise NotAnImage(
            f"config type {clean(str(config.get('mediaType')), 80)!r} is not an image config: "
            "an artifact, not a container image"
        )
    layers = doc.get("layers")
    if not isinstance(layers, list):
        raise RegistryError("the manifest has no layer list")
    for i, layer in enumerate(layers, 1):
        descriptor(layer, f"layer {i}")
        if layer.get("mediaType") not in LAYER_TYPES:
            raise NotAnImage(
                f"layer {i} has type {clean(str(layer.get('mediaType')), 80)!r}, not an image layer"
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
        name = platform_of(platform) if isinstance(platform, dict) else "unknown/unknown"
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


def manifest_type(doc: dict[str, Any], content_type: str) -> str:
    """The manifest's media type; schema 1 (no content digests) is refused outright."""
    media_type = media_type_of(doc, content_type)
    if media_type in SCHEMA1_TYPES or doc.get("schemaVersion") == 1:
        raise RegistryError(
            "the registry served a schema 1 manifest (deprecated, no content digests); "
            "push the image with a current client"
        )
    return media_type
