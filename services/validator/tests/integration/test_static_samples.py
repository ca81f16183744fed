"""The static phase against a real docker-registry holding the sample images."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from hspm.common.events.catalog import ConfigurationSnapshot, EnvironmentVariable, TaskSnapshot
from hspm.common.events.curation import ImageTarget, ValidationPolicy, ValidationRequested
from hspm.common.events.validator import STATIC_RULES
from hspm.common.testing import unavailable
from hspm.validator.config import Settings
from hspm.validator.facts import ImageFacts
from hspm.validator.report import Findings
from hspm.validator.static import inspection

TITLE, VERSION = "org.opencontainers.image.title", "org.opencontainers.image.version"


def _configs(
    ports: tuple[int, ...] = (8080,), keys: tuple[str, ...] = ("PORT", "APP_MODE")
) -> list[ConfigurationSnapshot]:
    task = TaskSnapshot(
        task_id=uuid.uuid4(),
        name="web",
        memory_maximum=128,
        instances_minimum=1,
        instances_maximum=3,
        ports=list(ports),
        environment=[EnvironmentVariable(key=k) for k in keys],
    )
    return [ConfigurationSnapshot(configuration_id=uuid.uuid4(), name="default", default=True, tasks=[task])]


class Run:
    """One call of ``inspection.inspect`` and what it recorded."""

    def __init__(self, facts: ImageFacts | None, findings: Findings, workdir: Path) -> None:
        self.facts = facts
        self.findings = findings
        self.workdir = workdir

    def status(self, rule: str) -> str:
        return self.findings.verdicts[rule].status

    def evidence(self, rule: str) -> str:
        return self.findings.verdicts[rule].evidence

    def statuses(self) -> dict[str, str]:
        return {rule: v.status for rule, v in self.findings.verdicts.items()}


@pytest_asyncio.fixture
async def http() -> AsyncIterator[tuple[aiohttp.ClientSession, list[str]]]:
    """A session that records every request it starts (to prove when none is made)."""
    seen: list[str] = []

    async def on_start(_session: Any, _ctx: Any, params: aiohttp.TraceRequestStartParams) -> None:
        seen.append(str(params.url))

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    async with aiohttp.ClientSession(trace_configs=[trace]) as session:
        yield session, seen


@pytest.fixture
def local(sample_images: Any) -> ValidationPolicy:
    """The fixture registry is on loopback: allow-list it and speak plain http to it."""
    host = sample_images.host
    return ValidationPolicy(
        allowed_registries=[host], insecure_registries=[host], required_labels=[TITLE, VERSION]
    )


async def _inspect(
    http: tuple[aiohttp.ClientSession, list[str]],
    tmp_path: Path,
    image: ImageTarget,
    policy: ValidationPolicy,
    configs: list[ConfigurationSnapshot] | None = None,
) -> Run:
    request = ValidationRequested(
        occurred_at=datetime.now(UTC),
        producer="test",
        run_id=uuid.uuid4(),
        build_id=uuid.uuid4(),
        product_id=uuid.uuid4(),
        version="1.0.0",
        image=image,
        configurations=_configs() if configs is None else configs,
        policy=policy,
    )
    findings = Findings()
    facts = await inspection.inspect(request, findings, Settings(registry_timeout=5), tmp_path, http[0])
    assert set(findings.verdicts) == set(STATIC_RULES), "every static rule gets a verdict"
    return Run(facts, findings, tmp_path)


def _sample(samples: Any, name: str, **fields: str) -> ImageTarget:
    values = {"registry": samples.url, "repository": samples.repository(name), "tag": samples.tag} | fields
    return ImageTarget(**values)


class TestSamples:
    async def test_good_passes_every_static_rule(self, http, tmp_path, sample_images, local) -> None:
        run = await _inspect(http, tmp_path, _sample(sample_images, "good"), local)
        assert run.statuses() == dict.fromkeys(STATIC_RULES, "pass")
        assert run.facts is not None and run.facts.digest == sample_images.digests["good"]
        assert run.facts.layout == tmp_path / "layout"
        assert "2 layers" in run.evidence("image.size") and "uncompressed" in run.evidence("image.size")

    async def test_bad_env_arm64(self, http, tmp_path, sample_images, local) -> None:
        run = await _inspect(http, tmp_path, _sample(sample_images, "bad-env-arm64"), local)
        assert run.status("env.names") == "fail"
        assert run.evidence("env.names") == "not ^[A-Z0-9_]+$: image Env: 'port', 'lower_case'"
        assert run.status("image.platform") == "fail"
        assert run.evidence("image.platform") == "the image is linux/arm64, not linux/amd64"
        assert run.status("user.non_root") == "fail"
        assert run.status("health.declared") == "warning"  # an OCI image cannot carry a HEALTHCHECK
        assert run.facts is not None and run.facts.architecture == "arm64"

    async def test_multi_arch_resolves_amd64_and_lists_both(
        self, http, tmp_path, sample_images, local
    ) -> None:
        run = await _inspect(http, tmp_path, _sample(sample_images, "multi-arch"), local)
        assert run.facts is not None
        assert run.facts.index_digest == sample_images.digests["multi-arch"]
        assert run.facts.digest != run.facts.index_digest
        assert run.facts.platforms == ["linux/amd64", "linux/arm64"]
        assert run.facts.architecture == "amd64"
        assert run.status("image.single") == "pass" and run.status("image.platform") == "pass"
        assert run.evidence("image.platform") == "linux/amd64 (the index offers linux/amd64, linux/arm64)"

    async def test_path_traversal_fails_the_layer_scan(self, http, tmp_path, sample_images, local) -> None:
        run = await _inspect(http, tmp_path, _sample(sample_images, "path-traversal"), local)
        assert run.status("image.layers") == "fail"
        evidence = run.evidence("image.layers")
        for problem in (
            "../../escaped: path with '..'",
            "/etc/abs-escape: absolute path",
            "dev/evil: character device",
        ):
            assert problem in evidence
        # Facts for the report, but no layout: the sandbox must not unpack these layers.
        assert run.facts is not None and run.facts.layout is None

    async def test_declared_configuration_is_judged_with_the_image(
        self, http, tmp_path, sample_images, local
    ) -> None:
        configs = _configs(ports=(8080, 9090), keys=("PORT", "db_url"))
        run = await _inspect(http, tmp_path, _sample(sample_images, "good"), local, configs)
        assert run.evidence("env.names") == "not ^[A-Z0-9_]+$: configuration 'default' task 'web': 'db_url'"
        assert run.status("ports.match") == "fail" and "declares 9090" in run.evidence("ports.match")


class TestRefusals:
    async def test_oversized_image_stops_before_downloading(
        self, http, tmp_path, sample_images, local
    ) -> None:
        tiny = local.model_copy(update={"max_image_bytes": 10_000})
        run = await _inspect(http, tmp_path, _sample(sample_images, "good"), tiny)
        assert run.status("image.size") == "fail"
        assert "the limit is 10000 (nothing downloaded)" in run.evidence("image.size")
        assert run.status("image.layers") == "skipped"
        assert run.facts is not None and run.facts.layout is None
        blobs = tmp_path / "layout" / "blobs" / "sha256"
        assert not blobs.exists() or not any(blobs.iterdir())
        assert len([url for url in http[1] if "/blobs/" in url]) == 1  # the config, no layer
        # Config rules are still judged from the config.
        assert run.status("user.non_root") == "pass"

    async def test_too_many_layers(self, http, tmp_path, sample_images, local) -> None:
        run = await _inspect(
            http, tmp_path, _sample(sample_images, "good"), local.model_copy(update={"max_layers": 1})
        )
        assert run.evidence("image.size") == "2 layers; the limit is 1 (nothing downloaded)"

    async def test_unknown_tag(self, http, tmp_path, sample_images, local) -> None:
        run = await _inspect(http, tmp_path, _sample(sample_images, "good", tag="nope"), local)
        assert run.facts is None
        assert run.status("image.resolvable") == "fail"
        assert "not found (HTTP 404: MANIFEST_UNKNOWN: manifest unknown)" in run.evidence("image.resolvable")
        assert run.status("image.platform") == "skipped"
        assert run.evidence("image.platform") == "the image could not be pulled"
        assert run.status("memory.declared") == "pass"

    async def test_loopback_registry_not_allow_listed_is_never_contacted(
        self, http, tmp_path, sample_images
    ) -> None:
        policy = ValidationPolicy(insecure_registries=[sample_images.host])
        run = await _inspect(http, tmp_path, _sample(sample_images, "good"), policy)
        assert run.status("image.reference") == "fail"
        assert f"registry {sample_images.host}: 127.0.0.1 is loopback" in run.evidence("image.reference")
        assert run.status("image.resolvable") == "skipped"
        assert http[1] == []

    async def test_https_is_used_unless_the_registry_is_insecure_by_policy(
        self, http, tmp_path, sample_images
    ) -> None:
        policy = ValidationPolicy(allowed_registries=[sample_images.host])
        run = await _inspect(http, tmp_path, _sample(sample_images, "good"), policy)
        assert "the registry URL's http:// was not used" in run.evidence("image.reference")
        assert run.status("image.resolvable") == "fail"
        assert http[1] == [f"https://{sample_images.host}/v2/"]


class TestReferences:
    async def test_by_digest_with_the_host_repeated_in_the_repository(
        self, http, tmp_path, sample_images, local
    ) -> None:
        digest = sample_images.digests["good"]
        image = ImageTarget(
            registry=sample_images.url,
            repository=f"{sample_images.host}/{sample_images.repository('good')}",
            tag="ignored",
            digest=digest,
        )
        run = await _inspect(http, tmp_path, image, local)
        assert run.status("image.resolvable") == "pass"
        assert run.facts is not None and run.facts.digest == digest
        assert "tag ignored not used: the digest pins the image" in run.evidence("image.reference")


@pytest.fixture
def umoci() -> str:
    """The umoci binary; CI must have it, so its absence fails there instead of skipping."""
    path = shutil.which("umoci")
    if path is None:
        unavailable("umoci is not installed")
    return path


@pytest.mark.usefixtures("umoci")
class TestLayoutUnpacks:
    @pytest.mark.parametrize("name", ["good", "bad-env-arm64", "multi-arch"])
    async def test_umoci_unpacks_the_layout(self, http, tmp_path, sample_images, local, name) -> None:
        run = await _inspect(http, tmp_path / "run", _sample(sample_images, name), local)
        assert run.facts is not None and run.facts.layout is not None
        bundle = tmp_path / "bundle"
        rootless = [] if os.geteuid() == 0 else ["--rootless"]
        umoci = await asyncio.create_subprocess_exec(
            "umoci", "unpack", *rootless, "--image", f"{run.facts.layout}:img", str(bundle),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        output, _ = await asyncio.wait_for(umoci.communicate(), 60)
        assert umoci.returncode == 0, output.decode()
        assert (bundle / "rootfs" / "bin" / "busybox").is_file()
        assert (bundle / "rootfs" / "bin" / "start.sh").is_file()
        runtime = json.loads((bundle / "config.json").read_text())
        assert "PORT=8080" in runtime["process"]["env"] or "port=8080" in runtime["process"]["env"]
