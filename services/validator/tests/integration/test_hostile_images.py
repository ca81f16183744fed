"""Issue 9 against the real registry: hostile layers, zstd images, pinned digests, and the
static phase kept off the event loop."""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import hashlib
import json
import os
import threading
import uuid
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import zstandard

from hspm.common.events.catalog import ConfigurationSnapshot, TaskSnapshot
from hspm.common.events.curation import ImageTarget, ValidationPolicy, ValidationRequested
from hspm.common.events.validator import DEFAULT_REQUIRED_RULES, RUNTIME_RULES, STATIC_RULES
from hspm.devstack import images
from hspm.devstack.oci_fixtures import PushedSamples
from hspm.devstack.registry import LocalRegistry
from hspm.validator import pipeline
from hspm.validator.config import Settings
from hspm.validator.report import Findings
from hspm.validator.static import inspection, layers, registry, rules, tarstream
from hspm.validator.static.manifests import Resolved

ZSTD_LAYER = "application/vnd.oci.image.layer.v1.tar+zstd"
BOMB = 64 * 1024 * 1024
CGROUP_PARENT = f"hspm-validator-test-hostile-{os.getpid()}"


# --- the hostile images -------------------------------------------------------------------


def _pax_bomb_layer() -> tuple[bytes, str]:
    """A PAX header that declares (and holds) 64 MiB: ~64 KiB of gzip."""
    block = bytearray(512)
    block[0:9] = b"PaxHeader"
    block[100:108], block[108:116], block[116:124] = b"0000644\0", b"0000000\0", b"0000000\0"
    block[124:136], block[136:148], block[156] = b"%011o\0" % BOMB, b"00000000000\0", ord("x")
    block[257:265] = b"ustar\x0000"
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)
    digest = hashlib.sha256(block)
    out = zlib.compressobj(6, zlib.DEFLATED, 31)
    blob = [out.compress(bytes(block))]
    zeros = bytes(1 << 20)
    for _ in range(BOMB >> 20):
        digest.update(zeros)
        blob.append(out.compress(zeros))
    blob.append(out.compress(bytes(1024)) + out.flush())
    digest.update(bytes(1024))
    return b"".join(blob), "sha256:" + digest.hexdigest()


def _zstd_variant(name: str) -> images.Image:
    """A sample as an OCI image whose two layers are zstd-compressed."""
    sample = dataclasses.replace(images.samples()[name], docker_format=False, healthcheck=None)
    tars = [gzip.decompress(images.base_layer()[0]), gzip.decompress(images.app_layer(sample)[0])]
    zstd = zstandard.ZstdCompressor(level=9)  # under 1 MiB: aiohttp warns on larger bodies
    built = [(zstd.compress(tar), "sha256:" + hashlib.sha256(tar).hexdigest()) for tar in tars]
    return images.build(sample, built, ZSTD_LAYER)


@dataclasses.dataclass(frozen=True)
class Hostile:
    """Where the hostile images are, and the digests pinned by re-validation tests."""

    url: str
    host: str
    digests: dict[str, str]


async def _delete_manifest(http: aiohttp.ClientSession, url: str, repository: str, digest: str) -> None:
    async with http.delete(f"{url}/v2/{repository}/manifests/{digest}") as resp:
        assert resp.status == 202, await resp.text()


async def _push_hostile(url: str) -> dict[str, str]:
    good, other = images.build(images.samples()["good"]), images.build(images.samples()["no-health"])
    bomb = images.build(images.samples()["good"], [images.base_layer(), _pax_bomb_layer()])
    async with aiohttp.ClientSession() as http:
        digests = {
            "zstd-good": await images.push(http, url, "hostile/zstd-good", "1", _zstd_variant("good")),
            "zstd-path-traversal": await images.push(
                http, url, "hostile/zstd-path-traversal", "1", _zstd_variant("path-traversal")
            ),
            "huge-pax-header": await images.push(http, url, "hostile/huge-pax-header", "1", bomb),
            # Approved by digest, then the tag moved to other bytes.
            "moved": await images.push(http, url, "pinned/moved", "1", good),
            "moved-to": await images.push(http, url, "pinned/moved", "1", other),
            # Approved by digest, then the manifest deleted from the registry.
            "gone": await images.push(http, url, "pinned/gone", "1", good),
        }
        await _delete_manifest(http, url, "pinned/gone", digests["gone"])
    return digests


@pytest.fixture(scope="module")
def hostile(oci_registry: object, sample_images: PushedSamples) -> Hostile:
    assert isinstance(oci_registry, LocalRegistry)
    return Hostile(oci_registry.url, oci_registry.host, asyncio.run(_push_hostile(oci_registry.url)))


# --- running the static phase ---------------------------------------------------------------


@pytest_asyncio.fixture
async def http() -> AsyncIterator[tuple[aiohttp.ClientSession, list[str]]]:
    seen: list[str] = []

    async def on_start(_session: Any, _ctx: Any, params: aiohttp.TraceRequestStartParams) -> None:
        seen.append(str(params.url))

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    async with aiohttp.ClientSession(trace_configs=[trace], auto_decompress=False) as session:
        yield session, seen


def _request(hostile: Hostile, repository: str, digest: str | None = None) -> ValidationRequested:
    task = TaskSnapshot(task_id=uuid.uuid4(), name="web", memory_maximum=64, ports=[8080])
    return ValidationRequested(
        occurred_at=datetime.now(UTC),
        producer="test",
        run_id=uuid.uuid4(),
        build_id=uuid.uuid4(),
        product_id=uuid.uuid4(),
        version="1.0.0",
        image=ImageTarget(registry=hostile.url, repository=repository, tag="1", digest=digest),
        configurations=[
            ConfigurationSnapshot(configuration_id=uuid.uuid4(), name="default", default=True, tasks=[task])
        ],
        policy=ValidationPolicy(
            required_rules=list(DEFAULT_REQUIRED_RULES),
            allowed_registries=[hostile.host],
            insecure_registries=[hostile.host],
        ),
    )


async def _inspect(
    http: aiohttp.ClientSession, tmp_path: Path, request: ValidationRequested
) -> tuple[Any, Findings]:
    findings = Findings()
    facts = await inspection.inspect(request, findings, Settings(registry_timeout=5), tmp_path, http)
    assert set(findings.verdicts) == set(STATIC_RULES)
    return facts, findings


class TestFinding1HugeHeaderInARegistryImage:
    async def test_image_layers_fails_and_nothing_is_unpacked(self, hostile, http, tmp_path) -> None:
        facts, findings = await _inspect(http[0], tmp_path, _request(hostile, "hostile/huge-pax-header"))
        verdict = findings.verdicts["image.layers"]
        assert verdict.status == "fail"
        assert f"a PAX header ('PaxHeader') declares {BOMB} bytes; at most {tarstream.MAX_META} are read" in (
            verdict.evidence
        )
        assert facts is not None and facts.layout is None


class TestFinding2ZstdImages:
    async def test_a_path_escape_in_a_zstd_layer_fails(self, hostile, http, tmp_path) -> None:
        facts, findings = await _inspect(http[0], tmp_path, _request(hostile, "hostile/zstd-path-traversal"))
        verdict = findings.verdicts["image.layers"]
        assert verdict.status == "fail", verdict.evidence
        assert "../../escaped: path with '..'" in verdict.evidence
        assert facts is not None and facts.layout is None

    async def test_a_good_zstd_image_unpacks_the_tar_that_was_scanned(self, hostile, http, tmp_path) -> None:
        facts, findings = await _inspect(http[0], tmp_path, _request(hostile, "hostile/zstd-good"))
        assert findings.verdicts["image.layers"].status == "pass"
        assert (
            "2 zstd layer(s) unpacked from the tar that was scanned"
            in findings.verdicts["image.layers"].evidence
        )
        assert facts is not None and facts.layout is not None
        index = json.loads((facts.layout / "index.json").read_text())
        blobs = facts.layout / "blobs" / "sha256"
        manifest = json.loads((blobs / index["manifests"][0]["digest"][7:]).read_text())
        config = json.loads((blobs / manifest["config"]["digest"][7:]).read_text())
        assert [la["mediaType"] for la in manifest["layers"]] == [layers.PLAIN_TAR] * 2
        assert [la["digest"] for la in manifest["layers"]] == config["rootfs"]["diff_ids"]

    @pytest.mark.usefixtures("sandbox_ready", "cgroup_parent_removed")
    async def test_a_good_zstd_image_passes_and_runs(self, hostile, http, tmp_path) -> None:
        settings = Settings(work_dir=str(tmp_path), soak_seconds=0.5, cgroup_parent=CGROUP_PARENT)
        report = await pipeline.validate(_request(hostile, "hostile/zstd-good"), settings, http[0])
        by_rule = {r.rule: (r.status, r.evidence) for r in report.rules}
        assert report.outcome == "passed", report.summary
        assert report.runtime.status == "ran"
        assert by_rule["image.layers"][0] == "pass"
        assert {by_rule[r][0] for r in RUNTIME_RULES if r.startswith("runtime.")} == {"pass"}, by_rule


@pytest.fixture
def cgroup_parent_removed() -> Iterator[None]:
    yield
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        if " - cgroup" in line and (parent := Path(line.split()[4]) / CGROUP_PARENT).exists():
            parent.rmdir()


class TestFinding6PinnedDigest:
    async def test_the_pinned_digest_is_pulled_not_the_moved_tag(self, hostile, http, tmp_path) -> None:
        pinned = hostile.digests["moved"]
        assert hostile.digests["moved-to"] != pinned
        facts, findings = await _inspect(http[0], tmp_path, _request(hostile, "pinned/moved", pinned))
        assert findings.verdicts["image.resolvable"].status == "pass"
        assert facts is not None and facts.digest == pinned
        assert [u for u in http[1] if "/manifests/" in u] == [
            f"{hostile.url}/v2/pinned/moved/manifests/{pinned}"
        ]

    async def test_a_digest_no_longer_pullable_fails_resolvable_naming_it(
        self, hostile, http, tmp_path
    ) -> None:
        gone = hostile.digests["gone"]
        facts, findings = await _inspect(http[0], tmp_path, _request(hostile, "pinned/gone", gone))
        verdict = findings.verdicts["image.resolvable"]
        assert facts is None and verdict.status == "fail"
        assert verdict.evidence == (
            f"the pinned digest {gone} of {hostile.host}/pinned/gone: "
            "not found (HTTP 404: MANIFEST_UNKNOWN: manifest unknown)"
        )
        assert not any(u.endswith("/manifests/1") for u in http[1]), "the tag was asked for"


# --- finding 5: the static phase keeps the event loop free -----------------------------------


def _spy(monkeypatch: pytest.MonkeyPatch, module: object, name: str, threads: dict[str, list[bool]]) -> None:
    """Wrap ``module.name`` to record whether each call ran off the event loop's thread."""
    real: Callable[..., Any] = getattr(module, name)
    loop_thread = threading.get_ident()

    def spy(*args: Any, **kwargs: Any) -> Any:
        threads.setdefault(name, []).append(threading.get_ident() != loop_thread)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, spy)


class TestFinding5StaticPhaseOffTheLoop:
    async def test_parsing_scanning_and_judging_run_in_worker_threads(
        self, hostile, http, tmp_path, monkeypatch
    ) -> None:
        threads: dict[str, list[bool]] = {}
        _spy(monkeypatch, registry, "document", threads)
        _spy(monkeypatch, registry, "sha256", threads)
        _spy(monkeypatch, layers, "scan_file", threads)
        for judge in ("judge_env_secrets", "judge_env_names", "judge_entrypoint"):
            _spy(monkeypatch, rules, judge, threads)
        facts, _ = await _inspect(http[0], tmp_path, _request(hostile, "hostile/zstd-good"))
        assert facts is not None and facts.layout is not None
        assert set(threads) == {"document", "sha256", "scan_file", "judge_env_secrets", "judge_env_names",
                                "judge_entrypoint"}  # fmt: skip
        assert {name: set(off) for name, off in threads.items()} == dict.fromkeys(threads, {True})

    async def test_the_loop_schedules_others_while_a_large_layer_is_scanned(self, tmp_path) -> None:
        # A 64 MiB layer: its scan keeps a worker thread busy a while; the loop must not wait.
        tar = tarstream_file(64 * 1024 * 1024)
        blob = zstandard.ZstdCompressor(level=1).compress(tar)
        digest = "sha256:" + hashlib.sha256(blob).hexdigest()
        (tmp_path / "blobs" / "sha256").mkdir(parents=True)
        (tmp_path / "blobs" / "sha256" / digest[7:]).write_bytes(blob)
        resolved = Resolved(
            target=None,  # type: ignore[arg-type]
            digest=digest,
            media_type="",
            manifest={"layers": [{"digest": digest, "size": len(blob)}]},
            config={},
            config_raw=b"{}",
        )
        scan = asyncio.create_task(inspection.scan_layers(tmp_path, resolved, 1 << 30))
        ticks = 0

        async def trivial() -> None:
            nonlocal ticks
            for _ in range(3):
                ticks += 1
                await asyncio.sleep(0)

        await asyncio.create_task(trivial())
        # Ordering, not timing: the trivial coroutine finished while the scan still ran.
        assert ticks == 3 and not scan.done()
        (result,) = await scan
        assert result.error is None and result.members == 1


def tarstream_file(size: int) -> bytes:
    """A tar of one regular file of ``size`` zero bytes."""
    block = bytearray(512)
    block[0:4] = b"data"
    block[100:108], block[108:116], block[116:124] = b"0000644\0", b"0000000\0", b"0000000\0"
    block[124:136], block[136:148], block[156] = b"%011o\0" % size, b"00000000000\0", ord("0")
    block[257:265] = b"ustar\x0000"
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block) + bytes(size) + bytes(1024)
