"""The marketplace as its own product: each of its images has a marketplace.json, and the
validator's static rules pass on the image its Dockerfile defines.

The images cannot be built here (the base image cannot be pulled), so each one's config is
worked out from its Dockerfile (``dockerfile.py``) over the base image's published config,
pushed with a small stand-in layer to a real registry, and judged by the validator's static
phase exactly as an ISV's build is: the declarations come from the document as the catalog
imports it, the policy is curation's initial one.
"""

from __future__ import annotations

import copy
import dataclasses
import gzip
import hashlib
import importlib
import io
import json
import tarfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from hspm.catalog.marketplace import mapping, schema
from hspm.client.platform_agent.config import PREFIX as AGENT_PREFIX
from hspm.client.platform_agent.config import AgentConfig
from hspm.common.config import ServiceSettings
from hspm.common.events.catalog import ConfigurationSnapshot, EnvironmentVariable, TaskSnapshot
from hspm.common.events.curation import ImageTarget, ValidationPolicy, ValidationRequested
from hspm.common.events.validator import STATIC_RULES
from hspm.curation.config import Settings as CurationSettings
from hspm.curation.policy import rules as policy
from hspm.devstack import images
from hspm.devstack.registry import LocalRegistry
from hspm.validator.config import Settings as ValidatorSettings
from hspm.validator.report import Findings
from hspm.validator.static import inspection
from tests.own_images.dockerfile import image_config

REPO = Path(__file__).resolve().parents[2]
DOCUMENTS = REPO / "docker" / "marketplace"
SERVICE_DOCKERFILE = REPO / "docker" / "service.Dockerfile"
AGENT_DOCKERFILE = REPO / "docker" / "agent.Dockerfile"
SERVICES = ("gateway", "identity", "catalog", "curation", "validator", "licensing", "notifier", "web")
IMAGES = (*SERVICES, "agent")
UID = 10001

# The base image's own config, as docker-library/python publishes python:3.11-slim-bookworm
# (3.11/slim-bookworm/Dockerfile over debian:bookworm-slim): its variables are judged too.
PYTHON_IMAGE = "python:3.11-slim-bookworm"
BASE_CONFIGS = {
    PYTHON_IMAGE: {
        "Env": [
            "PATH=/usr/local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG=C.UTF-8",
            "GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D",
            "PYTHON_VERSION=3.11.12",
            "PYTHON_SHA256=849da87af4df137710c1796e276a955f7a85c9f971081067c8f565d15c352a09",
        ],
        "Cmd": ["python3"],
    }
}


# --- what compose and Kubernetes say about each image ----------------------------------------


def _compose_build(name: str) -> dict[str, Any]:
    services = yaml.safe_load((REPO / "compose.yaml").read_text())["services"]
    build: dict[str, Any] = services[name]["build"]
    return build


def _dockerfile(name: str) -> tuple[Path, str, dict[str, str]]:
    """The Dockerfile, target and build arguments of an image, as compose builds it."""
    if name == "agent":
        return AGENT_DOCKERFILE, "agent", {}
    build = _compose_build(name)
    return REPO / build["dockerfile"], build["target"], {k: str(v) for k, v in build["args"].items()}


def _kubernetes_memory_mib(name: str) -> int:
    """The memory limit of the service's Deployment (``256Mi``, ``1Gi``) in MiB."""
    deployment = yaml.safe_load((REPO / "deploy/kubernetes/base" / name / "deployment.yaml").read_text())
    limit = str(deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"])
    return int(limit.removesuffix("Gi")) * 1024 if limit.endswith("Gi") else int(limit.removesuffix("Mi"))


def document(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DOCUMENTS / f"{name}.json").read_text())
    return data


def only_task(doc: dict[str, Any]) -> dict[str, Any]:
    [config] = doc["configuration"]
    [task] = config["task"]
    return dict(task)


# --- the declarations, as the catalog imports them -------------------------------------------


def declared(doc: dict[str, Any]) -> tuple[list[ConfigurationSnapshot], mapping.BuildPlan]:
    """The configurations curation sends the validator for a build imported from ``doc``."""
    report = schema.validate(doc)
    assert report.valid, report.as_json()
    plan = mapping.plan(doc)
    configs = [
        ConfigurationSnapshot(
            configuration_id=c.id, name=c.name, default=c.default, tasks=[_snapshot(t) for t in c.tasks]
        )
        for c in plan.configurations
    ]
    return configs, plan


def _snapshot(task: mapping.TaskRow) -> TaskSnapshot:
    return TaskSnapshot(
        task_id=task.id,
        name=task.name,
        options=task.options,
        ports=task.ports,
        cron=task.cron,
        environment=[EnvironmentVariable(**v) for v in task.environment],
        **task.numbers,
    )


# --- the image, from its Dockerfile ----------------------------------------------------------


def _layer(name: str) -> tuple[bytes, str]:
    """A stand-in for the image's files: the user and directories the Dockerfile's own steps
    create (the base image and the virtual environment need a real build). The static rules
    read layers only to scan them for unsafe entries, so a real tar is what matters."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        dirs = ["etc", "app", "app/.venv", "app/.venv/bin"]
        dirs += ["var", "var/lib", "var/lib/hspm-agent", "etc/hspm-agent"] if name == "agent" else []
        for path in dirs:
            info = tarfile.TarInfo(path)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        # groupadd and useradd of the runtime stage: the service user, no shell, no home.
        passwd = f"root:x:0:0::/root:/bin/sh\nhspm:x:{UID}:{UID}::/nonexistent:/usr/sbin/nologin\n"
        for path, text in (("etc/passwd", passwd), ("etc/group", f"root:x:0:\nhspm:x:{UID}:\n")):
            data = text.encode()
            info = tarfile.TarInfo(path)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    tar_bytes = raw.getvalue()
    return gzip.compress(tar_bytes, mtime=0), "sha256:" + hashlib.sha256(tar_bytes).hexdigest()


def build_image(name: str, oci: bool = False) -> images.Image:
    """The image as ``docker build`` makes it (Docker format), or as an OCI build does, which
    has no HEALTHCHECK field and drops it."""
    dockerfile, target, args = _dockerfile(name)
    config = image_config(dockerfile, target, args, BASE_CONFIGS)
    if oci:
        config.pop("Healthcheck", None)
    layer, diff_id = _layer(name)
    document = {
        "architecture": "amd64",
        "os": "linux",
        "created": "2026-01-01T00:00:00Z",
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": "2026-01-01T00:00:00Z", "created_by": f"{dockerfile.name}, {target}"}],
    }
    config_blob = images.Blob(
        json.dumps(document, sort_keys=True).encode(), images.OCI_CONFIG if oci else images.DOCKER_CONFIG
    )
    layer_blob = images.Blob(layer, images.OCI_LAYER if oci else images.DOCKER_LAYER)
    media_type = images.OCI_MANIFEST if oci else images.DOCKER_MANIFEST
    manifest = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": config_blob.descriptor(),
        "layers": [layer_blob.descriptor()],
    }
    return images.Image(json.dumps(manifest).encode(), media_type, (config_blob, layer_blob))


# --- the validator's static phase ------------------------------------------------------------


@dataclasses.dataclass
class Judged:
    findings: Findings

    def status(self, rule: str) -> str:
        return self.findings.verdicts[rule].status

    def evidence(self, rule: str) -> str:
        return self.findings.verdicts[rule].evidence

    def statuses(self) -> dict[str, str]:
        return {rule: v.status for rule, v in self.findings.verdicts.items()}


def _policy(registry: LocalRegistry) -> ValidationPolicy:
    """Curation's policy on a fresh installation, trusting the loopback test registry."""
    labels = CurationSettings.model_fields["policy_required_labels"].default
    return policy.initial([registry.host], [registry.host], labels)


async def judge(
    registry: LocalRegistry, workdir: Path, name: str, doc: dict[str, Any], oci: bool = False
) -> Judged:
    """Push the image of ``name`` and run the static phase on it with ``doc``'s declarations.

    The document names the development registry (``make up``'s); the test's registry stands
    in for it, with the same repository and tag (``-oci`` added for the OCI variant).
    """
    configs, plan = declared(doc)
    tag = f"{plan.image.tag}-oci" if oci else plan.image.tag
    assert tag is not None
    request = ValidationRequested(
        occurred_at=datetime.now(UTC),
        producer="test",
        run_id=uuid.uuid4(),
        build_id=plan.id,
        product_id=plan.product_id,
        version=tag,
        image=ImageTarget(registry=registry.url, repository=plan.repository, tag=tag),
        mime_type=doc["product"]["facts"]["technology_mime_type"],
        configurations=configs,
        policy=_policy(registry),
        trigger="submission",
    )
    findings = Findings()
    async with aiohttp.ClientSession() as http:
        await images.push(http, registry.url, plan.repository, tag, build_image(name, oci))
        await inspection.inspect(request, findings, ValidatorSettings(registry_timeout=5), workdir, http)
    assert set(findings.verdicts) == set(STATIC_RULES), "every static rule gets a verdict"
    return Judged(findings)


# --- the tests -------------------------------------------------------------------------------


def test_every_image_has_a_document() -> None:
    assert sorted(p.stem for p in DOCUMENTS.glob("*.json")) == sorted(IMAGES)


@pytest.mark.parametrize("name", IMAGES)
def test_the_catalog_accepts_the_document_without_warnings(name: str) -> None:
    report = schema.validate(document(name))
    assert report.as_json() == {"valid": True, "errors": [], "warnings": []}


def _service_settings(name: str) -> type[ServiceSettings]:
    module = importlib.import_module(f"hspm.{name}.config")
    settings: type[ServiceSettings] = module.Settings
    return settings


@pytest.mark.parametrize("name", SERVICES)
def test_a_service_document_declares_what_its_code_reads(name: str) -> None:
    """Port, memory and variables as the code, compose and Kubernetes have them."""
    settings = _service_settings(name)
    task = only_task(document(name))
    keys = {v["key"] for v in task["environment"]}
    readable = {f"HSPM_{f.upper()}" for f in settings.model_fields}
    # Every setting of the service's own is declared (but its name, which each image fixes);
    # every declared HSPM_ variable is one the settings read.
    own = {f"HSPM_{f.upper()}" for f in settings.__annotations__} - {"HSPM_SERVICE_NAME"}
    assert own - keys == set()
    assert {k for k in keys if k.startswith("HSPM_")} - readable == set()
    port = int(_compose_build(name)["args"]["PORT"])
    assert task["ports"] == [port] == [settings.model_fields["http_port"].default]
    assert task["memory_maximum"] == _kubernetes_memory_mib(name)


def _agent_variables(cls: type[Any] = AgentConfig, prefix: str = AGENT_PREFIX) -> set[str]:
    """Every ``HSPM_AGENT_*`` name the agent's settings read (tables nest with ``_``)."""
    names: set[str] = set()
    for f in dataclasses.fields(cls):
        kind = f.default_factory if f.default_factory is not dataclasses.MISSING else None
        if isinstance(kind, type) and dataclasses.is_dataclass(kind):
            names |= _agent_variables(kind, f"{prefix}{f.name.upper()}_")
        else:
            names.add(prefix + f.name.upper())
    return names


def test_the_agent_document_declares_what_the_agent_reads() -> None:
    task = only_task(document("agent"))
    assert {v["key"] for v in task["environment"]} == _agent_variables()
    assert task["ports"] == [9465]
    assert (task["instances_minimum"], task["instances_maximum"]) == (1, 1), "one agent per platform"


@pytest.mark.parametrize("oci", [False, True], ids=["docker-format", "oci-format"])
@pytest.mark.parametrize("name", IMAGES)
async def test_the_static_rules_pass(
    oci_registry: LocalRegistry, tmp_path: Path, name: str, oci: bool
) -> None:
    judged = await judge(oci_registry, tmp_path, name, document(name), oci)
    assert judged.statuses() == dict.fromkeys(STATIC_RULES, "pass"), judged.findings.verdicts
    # A Docker-format build keeps its HEALTHCHECK; an OCI one relies on the label.
    expected = "label org.hl7.hspm.health-path=/healthz" if oci else "HEALTHCHECK "
    assert judged.evidence("health.declared").startswith(expected)
    assert judged.evidence("user.non_root") == f"USER '{UID}:{UID}'"


def _broken(change: str) -> tuple[dict[str, Any], str]:
    """The gateway's document with one mistake only the validator can see (the catalog
    accepts it), and the rule that must catch it."""
    doc = copy.deepcopy(document("gateway"))
    task = doc["configuration"][0]["task"][0]
    if change == "port":
        task["ports"] = [8081]
        return doc, "ports.match"
    if change == "secret":
        for var in task["environment"]:
            if var["key"] == "HSPM_INTERNAL_SECRET":
                var["default"] = "an-internal-secret-baked-in"
        return doc, "env.secrets"
    task["memory_maximum"] = 32_768
    return doc, "memory.declared"


BROKEN_EVIDENCE = {
    "port": "configuration 'default' task 'gateway' declares 8081; the image exposes 8080",
    "secret": "configuration 'default' task 'gateway' default of HSPM_INTERNAL_SECRET "
    "(a secret-like name with a value)",
    "memory": "configuration 'default' task 'gateway': memory_maximum 32768 MiB "
    "exceeds the limit of 16384 MiB",
}


@pytest.mark.parametrize("change", sorted(BROKEN_EVIDENCE))
async def test_a_wrong_document_is_refused_by_the_validator(
    oci_registry: LocalRegistry, tmp_path: Path, change: str
) -> None:
    doc, rule = _broken(change)
    judged = await judge(oci_registry, tmp_path, "gateway", doc)
    failed = {r for r, status in judged.statuses().items() if status != "pass"}
    assert failed == {rule}
    assert judged.status(rule) == "fail"
    assert judged.evidence(rule) == BROKEN_EVIDENCE[change]
