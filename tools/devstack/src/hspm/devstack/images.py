"""Sample OCI images, built in Python and pushed over the registry v2 API.

No engine is needed: a layer is a gzipped tar, an image is a config blob and a manifest.
Every sample shares one busybox-static layer (gzipped once per process) and adds a small
layer of its own: a start script, the pages ``busybox httpd`` serves, or a hostile file.
They are the demo catalog's images and the validator's test subjects, one per verdict.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import json
import shutil
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

BUSYBOX = Path("/bin/busybox")
APPLETS = ("sh", "httpd", "wget", "sleep", "kill", "dd", "echo", "cat", "mkdir", "ls", "env", "head")
OWNER = 1000

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"

# A start script that serves /www on $PORT and stops cleanly on SIGTERM.
SERVE = """#!/bin/sh
PORT="${PORT:-8080}"
echo "starting on port $PORT (APP_MODE=${APP_MODE:-unset})"
httpd -f -v -p "$PORT" -h /www &
child=$!
trap 'echo "got SIGTERM, stopping"; kill $child; wait $child; exit 0' TERM INT
%s
wait $child
"""

CAPABILITY_STATEMENT = {
    "resourceType": "CapabilityStatement",
    "status": "active",
    "date": "2026-01-01",
    "kind": "instance",
    "fhirVersion": "4.0.1",
    "format": ["json"],
    "rest": [{"mode": "server", "resource": [{"type": "Patient", "interaction": [{"code": "read"}]}]}],
}
CDS_DISCOVERY = {
    "services": [
        {
            "hook": "patient-view",
            "id": "sepsis-alert",
            "title": "Sepsis alert",
            "description": "Warns when a patient meets sepsis screening criteria.",
            "prefetch": {"patient": "Patient/{{context.patientId}}"},
        }
    ]
}
LAUNCH_PAGE = "<!doctype html><html><head><title>Launch</title></head><body>Launching...</body></html>\n"


@dataclass(frozen=True)
class Sample:
    """One image's metadata and the files of its own layer (path → bytes, mode 0755)."""

    name: str
    files: Mapping[str, bytes] = field(default_factory=dict)
    env: tuple[str, ...] = ("PORT=8080", "APP_MODE=prod")
    user: str = f"{OWNER}:{OWNER}"
    ports: tuple[int, ...] = (8080,)
    entrypoint: tuple[str, ...] = ("/bin/start.sh",)
    labels: Mapping[str, str] = field(default_factory=dict)
    healthcheck: tuple[str, ...] | None = (
        "CMD-SHELL",
        "wget -q -O- http://127.0.0.1:${PORT:-8080}/health || exit 1",
    )
    architecture: str = "amd64"
    docker_format: bool = True
    # Raw tar members for hostile layers: (name, type, linkname).
    raw_members: tuple[tuple[str, bytes, str], ...] = ()


def _www(extra: Mapping[str, bytes] | None = None, health: bool = True) -> dict[str, bytes]:
    files = {"www/index.html": b"<html><body>sample</body></html>\n"}
    if health:
        files["www/health"] = b"ok\n"
    return files | dict(extra or {})


def _serve(extra: str = "", health: bool = True) -> dict[str, bytes]:
    return {"bin/start.sh": (SERVE % extra).encode()} | _www(health=health)


def _labels(name: str) -> dict[str, str]:
    return {"org.opencontainers.image.title": name, "org.opencontainers.image.version": "1.0.0"}


def samples() -> dict[str, Sample]:
    """The samples by name; each is judged one way by the validator."""
    fhir = {"www/metadata": json.dumps(CAPABILITY_STATEMENT).encode()}
    cds = {"www/cds-services": json.dumps(CDS_DISCOVERY).encode()}
    smart = {"www/launch.html": LAUNCH_PAGE.encode()}
    hog = "(sleep 1; echo 'loading the cache'; dd if=/dev/zero of=/dev/null bs=256M count=1) &"
    bomb = "(sleep 1; bomb() { bomb | bomb & }; bomb) &"
    items = [
        Sample("good", _serve()),
        Sample(
            "bad-env-arm64",
            _serve(),
            env=("port=8080", "lower_case=1"),
            user="0",
            architecture="arm64",
            docker_format=False,
            healthcheck=None,
        ),
        Sample("no-health", _serve(health=False)),
        Sample(
            "ignores-sigterm",
            _www(),
            entrypoint=("/bin/httpd", "-f", "-v", "-p", "8080", "-h", "/www"),
        ),
        Sample("memory-hog", _serve(hog)),
        Sample(
            "writes-rootfs",
            _serve("echo started > /var/lib/app/state.db; echo 'wrote /var/lib/app/state.db'")
            | {"var/lib/app/.keep": b""},
        ),
        Sample("fork-bomb", _serve(bomb)),
        Sample("fhir-good", _serve() | fhir),
        Sample("fhir-broken", _serve()),
        Sample("cds-good", _serve() | cds),
        Sample("smart-good", _serve() | smart),
        Sample("fhir-smart", _serve() | fhir | smart),
        Sample(
            "path-traversal",
            _serve(),
            raw_members=(("../../escaped", b"", ""), ("/etc/abs-escape", b"", ""), ("dev/evil", b"c", "")),
        ),
    ]
    return {s.name: s for s in items}


def sample_labels(sample: Sample) -> dict[str, str]:
    return _labels(sample.name) | dict(sample.labels)


# --- layers and images -----------------------------------------------------------------------


@dataclass(frozen=True)
class Blob:
    data: bytes
    media_type: str

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.data).hexdigest()

    def descriptor(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": len(self.data)}


@dataclass(frozen=True)
class Image:
    """What a push sends: the manifest, its type, and every blob it names."""

    manifest: bytes
    media_type: str
    blobs: tuple[Blob, ...]

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.manifest).hexdigest()


def _dir(tar: tarfile.TarFile, name: str, uid: int = 0) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.uid, info.gid = tarfile.DIRTYPE, 0o755, uid, uid
    tar.addfile(info)


def _file(tar: tarfile.TarFile, name: str, data: bytes, uid: int = 0, mode: int = 0o755) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.uid, info.gid = len(data), mode, uid, uid
    tar.addfile(info, io.BytesIO(data))


def _gzip(raw: bytes) -> tuple[bytes, str]:
    """The gzipped layer and its diff id (the digest of the uncompressed tar)."""
    return gzip.compress(raw, compresslevel=6, mtime=0), "sha256:" + hashlib.sha256(raw).hexdigest()


@functools.cache
def base_layer() -> tuple[bytes, str]:
    """busybox-static and its applets; gzipped once per process (most of the build time)."""
    if not BUSYBOX.exists():
        raise FileNotFoundError(f"{BUSYBOX} is missing: install the busybox-static package")
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for d in ("bin", "etc", "tmp", "var", "www"):
            _dir(tar, d)
        _file(tar, "bin/busybox", BUSYBOX.read_bytes())
        for applet in APPLETS:
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname, link.mode = tarfile.SYMTYPE, "busybox", 0o777
            tar.addfile(link)
        _file(tar, "etc/passwd", b"root:x:0:0:root:/:/bin/sh\napp:x:1000:1000:app:/tmp:/bin/sh\n", mode=0o644)
    return _gzip(out.getvalue())


def app_layer(sample: Sample) -> tuple[bytes, str]:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        made: set[str] = set()
        for path, data in sorted(sample.files.items()):
            parts = path.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                d = "/".join(parts[:i])
                if d not in made and d not in ("bin", "www", "var", "etc", "tmp"):
                    _dir(tar, d, OWNER)
                made.add(d)
            _file(tar, path, data, OWNER if not path.startswith("bin/") else 0)
        for name, kind, linkname in sample.raw_members:
            info = tarfile.TarInfo(name)
            if kind == b"c":
                info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
            info.linkname = linkname
            tar.addfile(info, io.BytesIO(b""))
    return _gzip(out.getvalue())


def build(sample: Sample, layers: list[tuple[bytes, str]] | None = None, layer_type: str = "") -> Image:
    """The sample as a docker v2s2 or OCI image: two layers, a config, a manifest.

    ``layers`` (blob, diff id) of ``layer_type`` replace its own: hostile variants of a sample.
    """
    layers = layers or [base_layer(), app_layer(sample)]
    layer_type = layer_type or (DOCKER_LAYER if sample.docker_format else OCI_LAYER)
    config: dict[str, Any] = {
        "User": sample.user,
        "Env": ["PATH=/bin", *sample.env],
        "ExposedPorts": {f"{p}/tcp": {} for p in sample.ports},
        "Entrypoint": list(sample.entrypoint),
        "WorkingDir": "/",
        "Labels": sample_labels(sample),
        "StopSignal": "SIGTERM",
    }
    if sample.healthcheck and sample.docker_format:
        config["Healthcheck"] = {"Test": list(sample.healthcheck), "Interval": 5_000_000_000, "Retries": 3}
    document = {
        "architecture": sample.architecture,
        "os": "linux",
        "created": "2026-01-01T00:00:00Z",
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": [diff for _, diff in layers]},
        "history": [{"created": "2026-01-01T00:00:00Z", "created_by": f"hspm sample {sample.name}"}],
    }
    config_blob = Blob(
        json.dumps(document, sort_keys=True).encode(), DOCKER_CONFIG if sample.docker_format else OCI_CONFIG
    )
    layer_blobs = tuple(Blob(data, layer_type) for data, _ in layers)
    manifest_type = DOCKER_MANIFEST if sample.docker_format else OCI_MANIFEST
    manifest = {
        "schemaVersion": 2,
        "mediaType": manifest_type,
        "config": config_blob.descriptor(),
        "layers": [b.descriptor() for b in layer_blobs],
    }
    return Image(json.dumps(manifest).encode(), manifest_type, (config_blob, *layer_blobs))


def index(images: Mapping[str, Image]) -> Image:
    """An OCI index over single-platform images keyed by architecture (a multi-arch tag)."""
    manifests = [
        {
            "mediaType": img.media_type,
            "digest": img.digest,
            "size": len(img.manifest),
            "platform": {"architecture": arch, "os": "linux"},
        }
        for arch, img in images.items()
    ]
    document = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
    blobs = tuple(b for img in images.values() for b in img.blobs)
    return Image(json.dumps(document).encode(), OCI_INDEX, blobs)


# --- pushing ---------------------------------------------------------------------------------


async def push(
    http: aiohttp.ClientSession, registry: str, repository: str, tag: str, image: Image, *extra: Image
) -> str:
    """Upload blobs (skipping ones present), then ``extra`` manifests by digest, then the tag.

    ``registry`` is a base URL such as ``http://127.0.0.1:5000``. Returns the tag's digest.
    """
    seen: set[str] = set()
    for blob in (*image.blobs, *(b for e in extra for b in e.blobs)):
        if blob.digest in seen:
            continue
        seen.add(blob.digest)
        await _push_blob(http, registry, repository, blob)
    for child in extra:
        await _put_manifest(http, registry, repository, child.digest, child)
    await _put_manifest(http, registry, repository, tag, image)
    return image.digest


async def _push_blob(http: aiohttp.ClientSession, registry: str, repository: str, blob: Blob) -> None:
    async with http.head(f"{registry}/v2/{repository}/blobs/{blob.digest}") as head:
        if head.status == 200:
            return
    async with http.post(f"{registry}/v2/{repository}/blobs/uploads/") as started:
        started.raise_for_status()
        location = started.headers["Location"]
    if location.startswith("/"):
        location = registry + location
    sep = "&" if "?" in location else "?"
    headers = {"Content-Type": "application/octet-stream"}
    async with http.put(f"{location}{sep}digest={blob.digest}", data=blob.data, headers=headers) as done:
        done.raise_for_status()


async def _put_manifest(
    http: aiohttp.ClientSession, registry: str, repository: str, reference: str, image: Image
) -> None:
    url = f"{registry}/v2/{repository}/manifests/{reference}"
    async with http.put(url, data=image.manifest, headers={"Content-Type": image.media_type}) as put:
        put.raise_for_status()


async def push_samples(
    registry: str, repository_prefix: str = "samples", tag: str = "1", also: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Every sample as ``<prefix>/<name>:<tag>``, plus ``<prefix>/multi-arch``; name → digest.

    ``also`` maps further ``repository:tag`` references to sample names (the demo's images),
    pushed from the same builds.
    """
    digests: dict[str, str] = {}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        built = {name: build(s) for name, s in samples().items()}
        for name, image in built.items():
            digests[name] = await push(http, registry, f"{repository_prefix}/{name}", tag, image)
        arm = build(
            Sample("good-arm64", _serve(), architecture="arm64", docker_format=False, healthcheck=None)
        )
        amd = build(Sample("good-amd64", _serve(), docker_format=False, healthcheck=None))
        multi = index({"amd64": amd, "arm64": arm})
        digests["multi-arch"] = await push(
            http, registry, f"{repository_prefix}/multi-arch", tag, multi, amd, arm
        )
        for ref, name in (also or {}).items():
            repository, ref_tag = ref.rsplit(":", 1)
            digests[ref] = await push(http, registry, repository, ref_tag, built[name])
    return digests


# The demo catalog's images (repository → sample): each passes the demo build's checks.
DEMO_IMAGES: dict[str, str] = {
    "demo/sepsis-watch:2.3.0": "smart-good",
    "demo/sepsis-alert-cds:1.4.1": "cds-good",
    "demo/cardinal-fhir-server:4.0.2": "fhir-smart",
    "demo/cardinal-fhir-server:4.1.0-rc.1": "fhir-smart",
    "demo/sepsis-measures-cql:2025.1.0": "good",
    "demo/sepsis-pathway-knart:0.9.0": "good",
}


async def push_demo_images(registry: str) -> None:
    """The demo catalog's images and every sample (``samples/<name>:1``), for newcomers to try."""
    await push_samples(registry, also=DEMO_IMAGES)


def have_busybox() -> bool:
    return BUSYBOX.exists() or shutil.which("busybox") is not None
