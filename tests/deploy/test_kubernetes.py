"""The Kubernetes manifests render, validate against the API's schemas, and keep their promises.

Every property is checked by a function that returns the problems it finds, so the same
checks run on the real overlays (no problem allowed) and on deliberately broken copies
(each must be caught): a check that cannot fail proves nothing.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import kubernetes_validate  # type: ignore[import-untyped]
import orjson
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]

# Schemas of this Kubernetes version, strict (unknown fields are errors). The manifests
# need 1.30 at least (the preStop sleep action); 1.32 is the kubectl Debian ships.
KUBERNETES_VERSION = "1.32"
OVERLAYS = ("dev", "production")
SANDBOX_POOL = ("hspm.dev/pool", "sandbox")
# The names every secret goes by; each reaches a pod only through a secretKeyRef.
SECRET_ENV = re.compile(r"PASSWORD|SECRET|_KEY$")
DRAIN_SECONDS = 10  # services exit within 10 s of SIGTERM (docs/architecture.md)


class Rendered(Protocol):
    """One overlay's objects (conftest.py renders them), and the secrets it was given."""

    @property
    def overlay(self) -> str: ...
    @property
    def docs(self) -> list[dict[str, Any]]: ...
    @property
    def secret_values(self) -> frozenset[str]: ...


@dataclass(frozen=True)
class Expected:
    """What one service must look like; port and memory come from compose.yaml."""

    name: str
    namespace: str
    port: int
    memory_bytes: int
    sandbox: bool = False


def docker_bytes(value: str) -> int:
    """Compose's memory sizes are binary: 256M is 256 MiB."""
    units = {"k": 2**10, "m": 2**20, "g": 2**30}
    return int(value[:-1]) * units[value[-1].lower()]


def quantity_bytes(value: str) -> int:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    for suffix, factor in units.items():
        if value.endswith(suffix):
            return int(value[: -len(suffix)]) * factor
    return int(value)


def expected_services() -> dict[str, Expected]:
    """The one table every check reads: compose's services, with their port and memory."""
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())["services"]
    names = ("gateway", "identity", "catalog", "curation", "validator", "licensing", "notifier", "web")
    return {
        name: Expected(
            name=name,
            namespace="hspm-sandbox" if name == "validator" else "hspm",
            port=int(compose[name]["environment"]["HSPM_HTTP_PORT"]),
            memory_bytes=docker_bytes(compose[name]["deploy"]["resources"]["limits"]["memory"]),
            sandbox=name == "validator",
        )
        for name in names
    }


SERVICES = expected_services()
KINDS = (
    "Deployment",
    "Service",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "NetworkPolicy",
    "ServiceAccount",
)


def find(docs: list[dict[str, Any]], kind: str, name: str, namespace: str | None) -> dict[str, Any] | None:
    for doc in docs:
        meta = doc["metadata"]
        if doc["kind"] == kind and meta["name"] == name and meta.get("namespace") == namespace:
            return doc
    return None


def deployments(docs: list[dict[str, Any]]) -> Iterator[tuple[Expected, dict[str, Any]]]:
    for svc in SERVICES.values():
        found = find(docs, "Deployment", svc.name, svc.namespace)
        if found is not None:
            yield svc, found


def pod(deployment: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = deployment["spec"]["template"]["spec"]
    return spec


# ---------------------------------------------------------------------------------
# Checks: each returns the problems it finds.
# ---------------------------------------------------------------------------------


def missing_objects(docs: list[dict[str, Any]]) -> list[str]:
    return [
        f"{svc.name}: no {kind} in {svc.namespace}"
        for svc in SERVICES.values()
        for kind in KINDS
        if find(docs, kind, svc.name, svc.namespace) is None
    ]


def resource_problems(docs: list[dict[str, Any]]) -> list[str]:
    problems = []
    for svc, deployment in deployments(docs):
        for container in pod(deployment)["containers"]:
            resources = container.get("resources", {})
            requests, limits = resources.get("requests", {}), resources.get("limits", {})
            if not {"cpu", "memory"} <= requests.keys():
                problems.append(f"{svc.name}: requests {requests} lack cpu or memory")
            if quantity_bytes(limits.get("memory", "0")) != svc.memory_bytes:
                problems.append(f"{svc.name}: memory limit {limits.get('memory')} is not compose's")
            if quantity_bytes(requests.get("memory", "0")) > svc.memory_bytes:
                problems.append(f"{svc.name}: memory request above its limit")
    return problems


def probe_problems(docs: list[dict[str, Any]]) -> list[str]:
    wanted = {"startupProbe": "/healthz", "livenessProbe": "/healthz", "readinessProbe": "/readyz"}
    problems = []
    for svc, deployment in deployments(docs):
        container = pod(deployment)["containers"][0]
        ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
        if ports.get("http") != svc.port:
            problems.append(f"{svc.name}: port http is {ports.get('http')}, compose says {svc.port}")
        for probe, path in wanted.items():
            http = container.get(probe, {}).get("httpGet", {})
            if http.get("path") != path or http.get("port") != "http":
                problems.append(f"{svc.name}: {probe} is not GET {path} on port http")
    return problems


def env_of(container: dict[str, Any]) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = container.get("env", [])
    return env


def secret_problems(rendered: Rendered) -> list[str]:
    """No secret value in any object but a Secret; every secret reaches pods by reference."""
    problems = []
    for doc in rendered.docs:
        if doc["kind"] == "Secret":
            if rendered.overlay != "dev":
                problems.append(f"Secret {doc['metadata']['name']} rendered outside the dev overlay")
            continue
        text = orjson.dumps(doc).decode()
        problems += [
            f"{doc['kind']} {doc['metadata']['name']} holds a secret value"
            for v in rendered.secret_values
            if v in text
        ]
    for svc, deployment in deployments(rendered.docs):
        for item in env_of(pod(deployment)["containers"][0]):
            if SECRET_ENV.search(item["name"]) and "secretKeyRef" not in item.get("valueFrom", {}):
                problems.append(f"{svc.name}: {item['name']} is not from a secretKeyRef")
    return problems


def undefined_references(docs: list[dict[str, Any]]) -> list[str]:
    """Every $(VAR) the kubelet expands is defined before it, or it stays literal text."""
    problems = []
    for svc, deployment in deployments(docs):
        container = pod(deployment)["containers"][0]
        defined: set[str] = set()
        for source in container.get("envFrom", []):
            config = find(docs, "ConfigMap", source["configMapRef"]["name"], svc.namespace)
            if config is None:
                problems.append(f"{svc.name}: ConfigMap {source['configMapRef']['name']} does not exist")
            else:
                defined |= config.get("data", {}).keys()
        for item in env_of(container):
            for ref in re.findall(r"\$\(([A-Z0-9_]+)\)", item.get("value", "")):
                if ref not in defined:
                    problems.append(f"{svc.name}: {item['name']} refers to undefined $({ref})")
            defined.add(item["name"])
    return problems


def security_problems(docs: list[dict[str, Any]]) -> list[str]:
    problems = []
    for svc, deployment in deployments(docs):
        spec = pod(deployment)
        container = spec["containers"][0]
        context, pod_context = container.get("securityContext", {}), spec.get("securityContext", {})
        if spec.get("automountServiceAccountToken") is not False:
            problems.append(f"{svc.name}: the service account token is mounted")
        if container.get("securityContext", {}).get("readOnlyRootFilesystem") is not True:
            problems.append(f"{svc.name}: root filesystem is writable")
        if svc.sandbox:
            problems += sandbox_problems(svc, spec)
            continue
        if pod_context.get("runAsNonRoot") is not True or context.get("runAsNonRoot") is not True:
            problems.append(f"{svc.name}: may run as root")
        if pod_context.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problems.append(f"{svc.name}: no RuntimeDefault seccomp profile")
        if context.get("allowPrivilegeEscalation") is not False or context.get("privileged"):
            problems.append(f"{svc.name}: may gain privileges")
        if context.get("capabilities", {}).get("drop") != ["ALL"]:
            problems.append(f"{svc.name}: keeps capabilities")
        if spec.get("nodeSelector", {}).get(SANDBOX_POOL[0]) == SANDBOX_POOL[1]:
            problems.append(f"{svc.name}: scheduled onto the sandbox pool")
    for svc in SERVICES.values():
        account = find(docs, "ServiceAccount", svc.name, svc.namespace)
        if account is not None and account.get("automountServiceAccountToken") is not False:
            problems.append(f"{svc.name}: its ServiceAccount mounts a token")
    return problems


def sandbox_problems(svc: Expected, spec: dict[str, Any]) -> list[str]:
    """The privileged validator only on the tainted sandbox pool, in its own namespace."""
    problems = []
    key, value = SANDBOX_POOL
    if spec.get("nodeSelector", {}).get(key) != value:
        problems.append(f"{svc.name}: not pinned to the {key}={value} pool")
    if not any(t.get("key") == key and t.get("value") == value for t in spec.get("tolerations", [])):
        problems.append(f"{svc.name}: does not tolerate the sandbox pool's taint")
    secrets = {
        i["valueFrom"]["secretKeyRef"]["name"] for i in env_of(spec["containers"][0]) if "valueFrom" in i
    }
    if any(not name.startswith("hspm-sandbox-secrets") for name in secrets):
        problems.append(f"{svc.name}: reads secrets beyond the sandbox's own: {sorted(secrets)}")
    return problems


def denies_everything(policy: dict[str, Any]) -> bool:
    spec = policy["spec"]
    return (
        spec.get("podSelector") == {}
        and set(spec.get("policyTypes", [])) == {"Ingress", "Egress"}
        and not spec.get("ingress")
        and not spec.get("egress")
    )


def network_problems(docs: list[dict[str, Any]]) -> list[str]:
    problems = []
    for namespace in {svc.namespace for svc in SERVICES.values()}:
        deny = find(docs, "NetworkPolicy", "default-deny", namespace)
        if deny is None or not denies_everything(deny):
            problems.append(f"{namespace}: no default-deny NetworkPolicy")
    for svc in SERVICES.values():
        policy = find(docs, "NetworkPolicy", svc.name, svc.namespace)
        if policy is None:
            continue
        spec = policy["spec"]
        if spec.get("podSelector") != {"matchLabels": {"app.kubernetes.io/name": svc.name}}:
            problems.append(f"{svc.name}: its NetworkPolicy selects other pods")
        if set(spec.get("policyTypes", [])) != {"Ingress", "Egress"}:
            problems.append(f"{svc.name}: its NetworkPolicy leaves a direction open")
        text = orjson.dumps(spec).decode()
        if ("ingress-nginx" in text) != (svc.name == "gateway"):
            problems.append(f"{svc.name}: ingress-controller traffic allowed to the wrong service")
        if '"port":53' not in text:
            problems.append(f"{svc.name}: no DNS egress")
        if any(rule == {} or not rule for rule in spec.get("ingress", []) + spec.get("egress", [])):
            problems.append(f"{svc.name}: a rule that allows everything")
    return problems


def replica_problems(docs: list[dict[str, Any]], overlay: str) -> list[str]:
    problems = []
    for svc in SERVICES.values():
        deployment = find(docs, "Deployment", svc.name, svc.namespace)
        hpa = find(docs, "HorizontalPodAutoscaler", svc.name, svc.namespace)
        pdb = find(docs, "PodDisruptionBudget", svc.name, svc.namespace)
        if deployment is None or hpa is None or pdb is None:
            continue
        if "replicas" in deployment["spec"]:
            problems.append(f"{svc.name}: spec.replicas set beside an HPA")
        low, high = hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]
        if overlay == "production" and not 2 <= low <= high:
            problems.append(f"{svc.name}: production replicas {low}..{high}, at least 2 needed")
        if overlay == "dev" and (low, high) != (1, 1):
            problems.append(f"{svc.name}: dev replicas {low}..{high}, one wanted")
        problems += budget_problems(svc.name, pdb["spec"], low, overlay)
    return problems


def budget_problems(name: str, spec: dict[str, Any], replicas: int, overlay: str) -> list[str]:
    """A budget that leaves no replica to evict blocks every node drain."""
    if overlay == "production" and "minAvailable" not in spec:
        return [f"{name}: production PDB without minAvailable"]
    if "minAvailable" in spec:
        value = str(spec["minAvailable"])
        kept = math.ceil(replicas * int(value[:-1]) / 100) if value.endswith("%") else int(value)
        return [f"{name}: PDB keeps {kept} of {replicas}, blocking drains"] if kept >= replicas else []
    return [] if spec.get("maxUnavailable") else [f"{name}: PDB allows no disruption"]


def lifecycle_problems(docs: list[dict[str, Any]]) -> list[str]:
    problems = []
    for svc, deployment in deployments(docs):
        spec = pod(deployment)
        pause = (
            spec["containers"][0].get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
        )
        grace = spec.get("terminationGracePeriodSeconds", 30)
        if not pause + DRAIN_SECONDS < grace <= 60:
            problems.append(
                f"{svc.name}: grace {grace}s does not fit a {pause}s pause and a {DRAIN_SECONDS}s drain"
            )
    return problems


def image_problems(docs: list[dict[str, Any]], overlay: str) -> list[str]:
    pattern = {"production": r"@sha256:[0-9a-f]{64}$", "dev": r":local$"}[overlay]
    return [
        f"{svc.name}: image {deployment_image} is not pinned as {overlay} wants"
        for svc, deployment in deployments(docs)
        if not re.search(pattern, deployment_image := pod(deployment)["containers"][0]["image"])
    ]


def gateway_route_problems(docs: list[dict[str, Any]]) -> list[str]:
    """Each HSPM_<SERVICE>_URL of the gateway names a Service and the port it serves."""
    gateway = find(docs, "Deployment", "gateway", "hspm")
    assert gateway is not None
    problems = []
    for item in env_of(pod(gateway)["containers"][0]):
        match = re.fullmatch(r"HSPM_([A-Z]+)_URL", item["name"])
        if match is None or match.group(1).lower() not in SERVICES:
            continue
        svc = SERVICES[match.group(1).lower()]
        if (
            item.get("value") != f"http://{svc.name}:{svc.port}"
            or find(docs, "Service", svc.name, "hspm") is None
        ):
            problems.append(f"gateway: {item['name']}={item.get('value')} reaches no service")
    return problems


def namespace_problems(docs: list[dict[str, Any]]) -> list[str]:
    """The API server itself refuses a privileged pod anywhere but the sandbox namespace."""
    wanted = {"hspm": "restricted", "hspm-sandbox": "privileged"}
    return [
        f"namespace {name}: Pod Security {level} not enforced"
        for name, level in wanted.items()
        if (find(docs, "Namespace", name, None) or {"metadata": {}})["metadata"]
        .get("labels", {})
        .get("pod-security.kubernetes.io/enforce")
        != level
    ]


CHECKS: dict[str, Callable[[Rendered], list[str]]] = {
    "objects": lambda r: missing_objects(r.docs),
    "resources": lambda r: resource_problems(r.docs),
    "probes": lambda r: probe_problems(r.docs),
    "secrets": secret_problems,
    "references": lambda r: undefined_references(r.docs),
    "security": lambda r: security_problems(r.docs),
    "namespaces": lambda r: namespace_problems(r.docs),
    "network": lambda r: network_problems(r.docs),
    "replicas": lambda r: replica_problems(r.docs, r.overlay),
    "lifecycle": lambda r: lifecycle_problems(r.docs),
    "images": lambda r: image_problems(r.docs, r.overlay),
    "routes": lambda r: gateway_route_problems(r.docs),
}


def schema_errors(docs: list[dict[str, Any]]) -> list[str]:
    errors = []
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{doc['kind']} {doc['metadata']['name']}: {exc.message}")
    return errors


# ---------------------------------------------------------------------------------
# The overlays as committed.
# ---------------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", ("base", *OVERLAYS))
def test_every_object_validates_against_the_schemas(rendered: dict[str, Rendered], overlay: str) -> None:
    assert rendered[overlay].docs
    assert schema_errors(rendered[overlay].docs) == []


@pytest.mark.parametrize("check", CHECKS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_overlay_keeps_its_promises(rendered: dict[str, Rendered], overlay: str, check: str) -> None:
    assert CHECKS[check](rendered[overlay]) == []


def test_dev_secrets_come_only_from_the_developers_files(rendered: dict[str, Rendered]) -> None:
    secrets = {
        (doc["metadata"]["namespace"], doc["metadata"]["name"].rsplit("-", 1)[0]): set(doc["data"])
        for doc in rendered["dev"].docs
        if doc["kind"] == "Secret"
    }
    assert secrets == {
        ("hspm", "hspm-secrets"): {"POSTGRES_PASSWORD", "RABBITMQ_PASSWORD", "HSPM_INTERNAL_SECRET"},
        ("hspm", "hspm-signing-keys"): {"HSPM_SIGNING_KEY", "HSPM_LICENSE_SIGNING_KEY"},
        ("hspm-sandbox", "hspm-sandbox-secrets"): {"RABBITMQ_PASSWORD"},
    }
    assert not [doc for doc in rendered["production"].docs if doc["kind"] == "Secret"]


def test_dev_refuses_to_render_before_its_secrets_are_written(
    bare_tree: Path, run_kustomize: Callable[[Path], Any]
) -> None:
    done = run_kustomize(bare_tree / "overlays" / "dev")
    assert done.returncode != 0
    assert "secrets/hspm.env" in done.stderr


def test_a_site_overlay_pins_its_own_digests_over_production(
    bare_tree: Path, run_kustomize: Callable[[Path], Any]
) -> None:
    """The operator's own overlay: a registry, a digest, the managed database's host."""
    digest = "sha256:" + "ab" * 32
    site = bare_tree / "overlays" / "site"
    site.mkdir()
    (site / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "resources": ["../production"],
                "images": [
                    {"name": "hspm/gateway", "newName": "registry.example.net/hspm/gateway", "digest": digest}
                ],
                "patches": [
                    {
                        "target": {"kind": "Service", "name": "postgres"},
                        "patch": "- {op: replace, path: /spec/externalName, value: db.example.net}",
                    }
                ],
            }
        )
    )
    done = run_kustomize(site)
    assert done.returncode == 0, done.stderr
    docs = [d for d in yaml.safe_load_all(done.stdout) if d]
    gateway = find(docs, "Deployment", "gateway", "hspm")
    assert gateway is not None
    assert pod(gateway)["containers"][0]["image"] == f"registry.example.net/hspm/gateway@{digest}"
    postgres = find(docs, "Service", "postgres", "hspm")
    assert postgres is not None and postgres["spec"]["externalName"] == "db.example.net"


# ---------------------------------------------------------------------------------
# Broken manifests: each check must catch what it is there to catch.
# ---------------------------------------------------------------------------------


def obj(docs: list[dict[str, Any]], kind: str, name: str, namespace: str | None = "hspm") -> dict[str, Any]:
    found = find(docs, kind, name, namespace)
    assert found is not None, (kind, name, namespace)
    return found


def container(docs: list[dict[str, Any]], name: str, namespace: str = "hspm") -> dict[str, Any]:
    found: dict[str, Any] = pod(obj(docs, "Deployment", name, namespace))["containers"][0]
    return found


def _set_env(docs: list[dict[str, Any]], name: str, var: str, value: str) -> None:
    for item in container(docs, name)["env"]:
        if item["name"] == var:
            item.pop("valueFrom", None)
            item["value"] = value


BREAKAGES: dict[str, tuple[str, Callable[[list[dict[str, Any]]], None]]] = {
    "an HPA missing": ("objects", lambda d: d.remove(obj(d, "HorizontalPodAutoscaler", "web"))),
    "memory limit unlike compose": (
        "resources",
        lambda d: container(d, "gateway")["resources"]["limits"].update(memory="512Mi"),
    ),
    "no readiness probe": ("probes", lambda d: container(d, "catalog").pop("readinessProbe")),
    "a literal password": ("secrets", lambda d: _set_env(d, "identity", "POSTGRES_PASSWORD", "hunter2")),
    "a secret value in a ConfigMap": (
        "secrets",
        lambda d: next(x for x in d if x["kind"] == "ConfigMap")["data"].update(
            X="internal-throwaway-5c81e6f0d2"
        ),
    ),
    "an undefined reference": (
        "references",
        lambda d: _set_env(d, "notifier", "HSPM_HTTP_PORT", "$(NOWHERE)"),
    ),
    "identity as root": (
        "security",
        lambda d: pod(obj(d, "Deployment", "identity"))["securityContext"].update(runAsNonRoot=False),
    ),
    "the validator off its pool": (
        "security",
        lambda d: pod(obj(d, "Deployment", "validator", "hspm-sandbox")).pop("nodeSelector"),
    ),
    "a privileged catalog": (
        "security",
        lambda d: container(d, "catalog")["securityContext"].update(privileged=True),
    ),
    "no restricted namespace": (
        "namespaces",
        lambda d: obj(d, "Namespace", "hspm", None)["metadata"].pop("labels"),
    ),
    "no default deny": ("network", lambda d: d.remove(obj(d, "NetworkPolicy", "default-deny"))),
    "an allow-all rule": (
        "network",
        lambda d: obj(d, "NetworkPolicy", "notifier")["spec"]["ingress"].append({}),
    ),
    "the ingress controller reaching identity": (
        "network",
        lambda d: obj(d, "NetworkPolicy", "identity")["spec"]["ingress"].append(
            copy.deepcopy(obj(d, "NetworkPolicy", "gateway")["spec"]["ingress"][0])
        ),
    ),
    "one production replica": (
        "replicas",
        lambda d: obj(d, "HorizontalPodAutoscaler", "curation")["spec"].update(minReplicas=1),
    ),
    "a budget that blocks drains": (
        "replicas",
        lambda d: obj(d, "PodDisruptionBudget", "licensing")["spec"].update(minAvailable="100%"),
    ),
    "a grace period shorter than the drain": (
        "lifecycle",
        lambda d: pod(obj(d, "Deployment", "notifier")).update(terminationGracePeriodSeconds=5),
    ),
    "an image by tag": ("images", lambda d: container(d, "web").update(image="hspm/web:latest")),
    "a route to a wrong port": (
        "routes",
        lambda d: _set_env(d, "gateway", "HSPM_CATALOG_URL", "http://catalog:9999"),
    ),
}


@dataclass(frozen=True)
class BrokenCopy:
    """A rendered overlay after a breakage: what the checks are given instead."""

    overlay: str
    docs: list[dict[str, Any]]
    secret_values: frozenset[str]


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_a_broken_manifest_is_caught(rendered: dict[str, Rendered], breakage: str) -> None:
    check, breaks = BREAKAGES[breakage]
    source = rendered["dev" if check == "secrets" else "production"]
    docs = copy.deepcopy(source.docs)
    breaks(docs)
    broken = BrokenCopy(source.overlay, docs, source.secret_values)
    assert CHECKS[check](broken), f"{check} did not notice {breakage}"


@pytest.mark.parametrize(
    "breaks",
    [
        lambda d: container(d, "gateway").update(imagePullPolicyy="Always"),
        lambda d: obj(d, "HorizontalPodAutoscaler", "gateway")["spec"].update(minReplicas="two"),
        lambda d: obj(d, "Deployment", "web")["spec"].pop("selector"),
    ],
    ids=["unknown field", "wrong type", "required field missing"],
)
def test_the_schemas_catch_a_broken_object(
    rendered: dict[str, Rendered], breaks: Callable[[list[dict[str, Any]]], None]
) -> None:
    original = rendered["production"].docs
    docs = copy.deepcopy(original)
    breaks(docs)
    changed = [doc for doc, before in zip(docs, original, strict=True) if doc != before]
    assert len(changed) == 1
    assert len(schema_errors(changed)) == 1
