"""The registry protocol against small aiohttp servers written here: the token dance,
redirects, digest mismatches and bodies that do not stop where they should."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from hspm.common.events.catalog import ConfigurationSnapshot, TaskSnapshot
from hspm.common.events.curation import ImageTarget, ValidationPolicy, ValidationRequested
from hspm.common.events.validator import STATIC_RULES
from hspm.validator.config import Settings
from hspm.validator.facts import ImageFacts, Target
from hspm.validator.report import Findings
from hspm.validator.static import inspection, layout, manifests, registry
from hspm.validator.static.reference import Guard

REPO = "demo/app"


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _layer() -> tuple[bytes, str]:
    """A gzipped tar with one file, and its diff id."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        info = tarfile.TarInfo("bin/app")
        info.size, info.mode = 3, 0o755
        tar.addfile(info, io.BytesIO(b"app"))
    raw = out.getvalue()
    return gzip.compress(raw, mtime=0), _sha(raw)


@dataclass
class Image:
    manifest: bytes
    media_type: str
    blobs: dict[str, bytes]

    @property
    def digest(self) -> str:
        return _sha(self.manifest)


def make_image(
    arch: str = "amd64", config_type: str = manifests.OCI_CONFIG, with_media_type: bool = True
) -> Image:
    layer, diff_id = _layer()
    config = json.dumps(
        {
            "architecture": arch,
            "os": "linux",
            "config": {
                "User": "1000",
                "Env": ["PORT=8080"],
                "ExposedPorts": {"8080/tcp": {}},
                "Entrypoint": ["/bin/app"],
            },
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        }
    ).encode()
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "config": {"mediaType": config_type, "digest": _sha(config), "size": len(config)},
        "layers": [{"mediaType": layout.OCI_LAYER["gzip"], "digest": _sha(layer), "size": len(layer)}],
    }
    if with_media_type:
        manifest = {"mediaType": manifests.OCI_MANIFEST} | manifest
    return Image(
        json.dumps(manifest).encode(), manifests.OCI_MANIFEST, {_sha(config): config, _sha(layer): layer}
    )


def make_index(*images_by_arch: tuple[str, Image]) -> Image:
    entries = [
        {
            "mediaType": img.media_type,
            "digest": img.digest,
            "size": len(img.manifest),
            "platform": {"os": "linux", "architecture": arch},
        }
        for arch, img in images_by_arch
    ]
    body = json.dumps({"schemaVersion": 2, "mediaType": manifests.OCI_INDEX, "manifests": entries}).encode()
    return Image(body, manifests.OCI_INDEX, {})


@dataclass
class FakeRegistry:
    """A registry v2 API over dicts; each test bends one behaviour."""

    token: str | None = None
    basic: bool = False
    manifests: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)
    header_digest: dict[str, str] = field(default_factory=dict)
    chunked: set[str] = field(default_factory=set)  # served without Content-Length
    blob_location: Callable[[str, str], str] | None = None  # (host, digest) → redirect target
    log: list[tuple[str, str | None, str]] = field(default_factory=list)  # path?query, Authorization, Host

    def add(self, tag: str, image: Image, *children: Image) -> None:
        for img in (image, *children):
            self.manifests[img.digest] = (img.manifest, img.media_type)
            self.blobs.update(img.blobs)
        self.manifests[tag] = (image.manifest, image.media_type)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._record])
        app.router.add_get("/token", self._token)
        app.router.add_get("/v2/", self._ping)
        app.router.add_get("/v2/{name:.+}/manifests/{ref}", self._manifest)
        app.router.add_get("/v2/{name:.+}/blobs/{digest}", self._blob)
        app.router.add_get("/storage/{digest}", self._storage)
        return app

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.log.append(
            (request.path_qs, request.headers.get("Authorization"), request.headers.get("Host", ""))
        )
        if request.path.startswith("/v2/"):
            if self.basic:
                return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="fake"'})
            if self.token and request.headers.get("Authorization") != f"Bearer {self.token}":
                challenge = f'Bearer realm="http://{request.host}/token",service="fake-registry"'
                return web.json_response(
                    {"errors": [{"code": "UNAUTHORIZED"}]},
                    status=401,
                    headers={"WWW-Authenticate": challenge},
                )
        response: web.StreamResponse = await handler(request)
        return response

    async def _token(self, request: web.Request) -> web.Response:
        return web.json_response({"token": self.token, "expires_in": 300})

    async def _ping(self, request: web.Request) -> web.Response:
        return web.json_response({})

    async def _manifest(self, request: web.Request) -> web.StreamResponse:
        ref = request.match_info["ref"]
        if ref not in self.manifests:
            error = {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]}
            return web.json_response(error, status=404)
        body, media_type = self.manifests[ref]
        headers = {
            "Content-Type": media_type,
            "Docker-Content-Digest": self.header_digest.get(ref, _sha(body)),
        }
        return await self._send(request, body, headers, chunked=ref in self.chunked)

    async def _blob(self, request: web.Request) -> web.StreamResponse:
        digest = request.match_info["digest"]
        if self.blob_location is not None:
            raise web.HTTPTemporaryRedirect(self.blob_location(request.host, digest))
        return await self._storage(request)

    async def _storage(self, request: web.Request) -> web.StreamResponse:
        digest = request.match_info["digest"]
        if digest not in self.blobs:
            return web.json_response(
                {"errors": [{"code": "BLOB_UNKNOWN", "message": "blob unknown"}]}, status=404
            )
        headers = {"Content-Type": "application/octet-stream", "Docker-Content-Digest": digest}
        return await self._send(request, self.blobs[digest], headers, chunked=digest in self.chunked)

    async def _send(
        self, request: web.Request, body: bytes, headers: dict[str, str], chunked: bool
    ) -> web.StreamResponse:
        if not chunked:
            return web.Response(body=body, headers=headers)
        response = web.StreamResponse(headers=headers)
        response.enable_chunked_encoding()
        await response.prepare(request)
        for i in range(0, len(body), 512):
            await response.write(body[i : i + 512])
        await response.write_eof()
        return response

    def paths(self) -> list[str]:
        return [path for path, _, _ in self.log]


@asynccontextmanager
async def serve(fake: FakeRegistry) -> AsyncIterator[str]:
    """The fake on a loopback port; yields ``127.0.0.1:port``."""
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    try:
        yield f"127.0.0.1:{server.port}"
    finally:
        await server.close()


def _policy(*hosts: str, **limits: int) -> ValidationPolicy:
    return ValidationPolicy(allowed_registries=list(hosts), insecure_registries=list(hosts), **limits)


async def _inspect(
    tmp_path: Path, host: str, policy: ValidationPolicy, tag: str = "1"
) -> tuple[ImageFacts | None, Findings]:
    task = TaskSnapshot(task_id=uuid.uuid4(), name="web", memory_maximum=64, ports=[8080])
    request = ValidationRequested(
        occurred_at=datetime.now(UTC),
        producer="test",
        run_id=uuid.uuid4(),
        build_id=uuid.uuid4(),
        product_id=uuid.uuid4(),
        version="1.0.0",
        image=ImageTarget(registry=f"http://{host}", repository=REPO, tag=tag),
        configurations=[
            ConfigurationSnapshot(configuration_id=uuid.uuid4(), name="d", default=True, tasks=[task])
        ],
        policy=policy,
    )
    findings = Findings()
    async with aiohttp.ClientSession() as http:
        facts = await inspection.inspect(request, findings, Settings(registry_timeout=5), tmp_path, http)
    assert set(findings.verdicts) == set(STATIC_RULES)
    return facts, findings


def _verdict(findings: Findings, rule: str) -> tuple[str, str]:
    v = findings.verdicts[rule]
    return v.status, v.evidence


class TestTokenAuth:
    async def test_anonymous_token_dance(self, tmp_path: Path) -> None:
        fake = FakeRegistry(token="tok-123")
        fake.add("1", make_image())
        async with serve(fake) as host:
            facts, findings = await _inspect(tmp_path, host, _policy(host))
        assert _verdict(findings, "image.resolvable")[0] == "pass"
        assert facts is not None and facts.layout is not None
        token_requests = [p for p in fake.paths() if p.startswith("/token")]
        assert token_requests == [f"/token?scope=repository:{REPO}:pull&service=fake-registry"]
        first, *rest = fake.log
        assert first[:2] == ("/v2/", None)
        authorized = [auth for path, auth, _ in rest if path.startswith("/v2/")]
        assert authorized and set(authorized) == {"Bearer tok-123"}

    async def test_blob_redirect_to_storage_elsewhere_gets_no_token(self, tmp_path: Path) -> None:
        storage = FakeRegistry()
        fake = FakeRegistry(token="tok-123")
        image = make_image()
        fake.add("1", image)
        storage.blobs.update(image.blobs)
        async with serve(storage) as storage_host, serve(fake) as host:
            fake.blob_location = lambda _host, digest: f"http://{storage_host}/storage/{digest}?sig=abc"
            facts, findings = await _inspect(tmp_path, host, _policy(host, storage_host))
        assert _verdict(findings, "image.resolvable")[0] == "pass", findings.verdicts["image.resolvable"]
        assert len(storage.log) == 2  # config and layer
        assert all(auth is None for _, auth, _ in storage.log)

    async def test_basic_auth_is_reported_not_attempted(self, tmp_path: Path) -> None:
        fake = FakeRegistry(basic=True)
        async with serve(fake) as host:
            facts, findings = await _inspect(tmp_path, host, _policy(host))
        assert facts is None
        status, evidence = _verdict(findings, "image.resolvable")
        assert status == "fail" and "wants credentials (no Bearer challenge)" in evidence


class TestRedirects:
    async def test_a_redirect_to_a_forbidden_address_is_refused(self, tmp_path: Path) -> None:
        fake = FakeRegistry()
        fake.add("1", make_image())
        fake.blob_location = lambda _host, digest: f"http://169.254.169.254/latest/meta-data?d={digest}"
        async with serve(fake) as host:
            # Plain http to it is allowed, so the address check is what refuses.
            policy = ValidationPolicy(
                allowed_registries=[host], insecure_registries=[host, "169.254.169.254"]
            )
            facts, findings = await _inspect(tmp_path, host, policy)
        status, evidence = _verdict(findings, "image.resolvable")
        assert status == "fail"
        assert "refused to connect" in evidence and "169.254.169.254 is link-local" in evidence
        assert facts is None  # the config blob itself was behind the redirect

    async def test_a_downgrade_to_plain_http_is_refused(self, tmp_path: Path) -> None:
        fake = FakeRegistry()
        fake.add("1", make_image())
        fake.blob_location = lambda _host, digest: f"http://storage.invalid/{digest}"
        async with serve(fake) as host:
            _, findings = await _inspect(tmp_path, host, _policy(host))
        assert "plain http to storage.invalid is refused" in _verdict(findings, "image.resolvable")[1]

    async def test_redirects_are_bounded(self, tmp_path: Path) -> None:
        fake = FakeRegistry()
        fake.add("1", make_image())
        fake.blob_location = lambda host, digest: f"http://{host}/v2/{REPO}/blobs/{digest}"
        async with serve(fake) as host:
            _, findings = await _inspect(tmp_path, host, _policy(host))
        assert "more than 3 redirects" in _verdict(findings, "image.resolvable")[1]
        assert len([p for p in fake.paths() if "/blobs/" in p]) == 4


class TestDigests:
    async def test_a_body_that_is_not_the_requested_digest(self, tmp_path: Path) -> None:
        fake = FakeRegistry()
        wanted, served = make_image(), make_image(arch="arm64")
        fake.manifests[wanted.digest] = (served.manifest, served.media_type)
        fake.header_digest[wanted.digest] = wanted.digest  # the header lies too
        async with serve(fake) as host:
            policy = _policy(host)
            async with aiohttp.ClientSession() as http:
                target = Target(host, "http", REPO, wanted.digest)
                client = registry.RegistryClient(http, target, policy, Guard(policy, 5), 5)
                with pytest.raises(
                    manifests.RegistryError, match="the body's digest is sha256:.*, not the requested one"
                ):
                    await client.resolve()

    async def test_docker_content_digest_must_match_the_body(self, tmp_path: Path) -> None:
        fake = FakeRegistry()
        fake.add("1", make_image())
        fake.header_digest["1"] = "sha256:" + "0" * 64
        async with serve(fake) as host:
            facts, findings = await _inspect(tmp_path, host, _policy(host))
        assert facts is None
        assert "Docker-Content-Digest says sha256:000" in _verdict(findings, "image.resolvable")[1]

    async def test_a_corrupted_layer_is_not_kept(self, tmp_path: Path) -> None:
        fake = FakeRegistry()
        image = make_image()
        fake.add("1", image)
        layer_digest = json.loads(image.manifest)["layers"][0]["digest"]
        fake.blobs[layer_digest] = bytes(len(fake.blobs[layer_digest]))  # same size, other bytes
        async with serve(fake) as host:
            facts, findings = await _inspect(tmp_path, host, _policy(host))
        status, evidence = _verdict(findings, "image.resolvable")
        assert status == "fail" and f"layer 1/1 ({layer_digest}): the downloaded bytes hash to" in evidence
        assert _verdict(findings, "image.layers") == ("skipped", "the layers could not be pulled")
        assert facts is not None and facts.layout is None
        assert not list((tmp_path / "layout" / "blobs" / "sha256").iterdir())


class TestCaps:
    async def test_a_streamed_manifest_past_the_cap_stops(self, tmp_path: Path) -> None:
        fake = FakeRegistry()
        image = make_image()
        padded = json.loads(image.manifest) | {"annotations": {"pad": "x" * 4096}}
        body = json.dumps(padded).encode()
        fake.manifests["1"] = (body, manifests.OCI_MANIFEST)
        fake.chunked.add("1")
        async with serve(fake) as host:
            facts, findings = await _inspect(tmp_path, host, _policy(host, max_manifest_bytes=1024))
        assert facts is None
        status, evidence = _verdict(findings, "image.size")
        assert status == "fail" and "exceeds the limit of 1024 bytes" in evidence
        assert _verdict(findings, "image.resolvable")[0] == "skipped"

    async def test_a_layer_longer_than_its_descriptor_stops(self, tmp_path: Path) -> None:
        fake = FakeRegistry()
        image = make_image()
        fake.add("1", image)
        layer_digest = json.loads(image.manifest)["layers"][0]["digest"]
        fake.blobs[layer_digest] += b"\0" * 4096
        fake.chunked.add(layer_digest)
        async with serve(fake) as host:
            _, findings = await _inspect(tmp_path, host, _policy(host))
        assert "is larger than its" in _verdict(findings, "image.resolvable")[1]


class TestShapes:
    async def test_media_type_from_content_type_when_the_body_has_none(self, tmp_path: Path) -> None:
        fake = FakeRegistry()
        fake.add("1", make_image(with_media_type=False))
        async with serve(fake) as host:
            facts, findings = await _inspect(tmp_path, host, _policy(host))
        assert facts is not None and facts.media_type == manifests.OCI_MANIFEST
        single = ("pass", f"one image manifest ({manifests.OCI_MANIFEST})")
        assert _verdict(findings, "image.single") == single

    async def test_schema1_is_refused(self, tmp_path: Path) -> None:
        fake = FakeRegistry()
        body = json.dumps({"schemaVersion": 1, "name": REPO, "tag": "1", "fsLayers": []}).encode()
        fake.manifests["1"] = (body, "application/vnd.docker.distribution.manifest.v1+prettyjws")
        async with serve(fake) as host:
            _, findings = await _inspect(tmp_path, host, _policy(host))
        assert "schema 1 manifest" in _verdict(findings, "image.resolvable")[1]

    async def test_an_artifact_is_not_one_image(self, tmp_path: Path) -> None:
        fake = FakeRegistry()
        fake.add("1", make_image(config_type="application/vnd.cncf.helm.config.v1+json"))
        async with serve(fake) as host:
            facts, findings = await _inspect(tmp_path, host, _policy(host))
        assert facts is None
        assert _verdict(findings, "image.single")[0] == "fail"
        assert "not an image config" in _verdict(findings, "image.single")[1]
        assert _verdict(findings, "image.resolvable")[0] == "pass"
        assert _verdict(findings, "user.non_root") == ("skipped", "the reference is not one container image")

    async def test_an_index_without_amd64(self, tmp_path: Path) -> None:
        fake = FakeRegistry()
        arm, s390 = make_image(arch="arm64"), make_image(arch="s390x")
        fake.add("1", make_index(("arm64", arm), ("s390x", s390)), arm, s390)
        async with serve(fake) as host:
            facts, findings = await _inspect(tmp_path, host, _policy(host))
        assert facts is not None and facts.platforms == ["linux/arm64", "linux/s390x"]
        assert _verdict(findings, "image.single") == (
            "fail",
            "an index of linux/arm64, linux/s390x with no linux/amd64 image; linux/arm64 was judged instead",
        )
        assert _verdict(findings, "image.platform") == (
            "fail",
            "the image is linux/arm64, not linux/amd64 (the index offers linux/arm64, linux/s390x)",
        )

    async def test_an_index_entry_that_lies_about_its_platform(self, tmp_path: Path) -> None:
        fake = FakeRegistry()
        arm = make_image(arch="arm64")
        fake.add("1", make_index(("amd64", arm)), arm)
        async with serve(fake) as host:
            _, findings = await _inspect(tmp_path, host, _policy(host))
        assert _verdict(findings, "image.platform")[1].startswith(
            "the index's linux/amd64 entry is a linux/arm64 image"
        )


class TestPinning:
    async def test_a_name_is_contacted_at_its_checked_address(self) -> None:
        """The name resolves (by the test's resolver) to loopback, allowed by CIDR: the
        request goes to that address and carries the name in Host."""
        fake = FakeRegistry()
        fake.add("1", make_image())

        async def resolve(host: str, port: int) -> list[str]:
            assert host == "registry.test"
            return ["127.0.0.1"]

        async with serve(fake) as host:
            port = int(host.rpartition(":")[2])
            policy = ValidationPolicy(
                allowed_registries=["127.0.0.0/8"], insecure_registries=["registry.test"]
            )
            target = Target(f"registry.test:{port}", "http", REPO, "1")
            async with aiohttp.ClientSession() as http:
                client = registry.RegistryClient(http, target, policy, Guard(policy, 5, resolve), 5)
                resolved = await client.resolve()
        assert resolved.platform == "linux/amd64"
        assert {h for _, _, h in fake.log} == {f"registry.test:{port}"}
