"""An ``InstanceSpec`` as Kubernetes objects.

Each long-running task is a Deployment (and a Service when it has ports); a task allowed
more replicas than its minimum gets a HorizontalPodAutoscaler from ``instances_minimum``
to ``instances_maximum`` and its Deployment leaves ``replicas`` to it; a cron task is a
CronJob (UTC, never two runs at once). Memory is a limit of ``memory_maximum`` and a
request of ``memory_minimum``; probes check the first port; a licensed product's document
is a Secret mounted where the product looks for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hspm.client.platform_agent.desired import InstanceSpec, TaskSpec
from hspm.client.platform_agent.drivers.files import short
from hspm.client.platform_agent.licenses import LICENSE_FILE_IN_CONTAINER

GROUP = "hspm.hl7.org"
MANAGER = "hspm-agent"


def render(spec: InstanceSpec, namespace: str, stop_timeout: int) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    secret = _license_secret(spec, namespace)
    if secret is not None:
        docs.append(secret)
    for task in spec.tasks:
        if task.cron:
            docs.append(_cronjob(spec, task, namespace, stop_timeout, secret is not None))
            continue
        docs.append(_deployment(spec, task, namespace, stop_timeout, secret is not None))
        if task.ports:
            docs.append(_service(spec, task, namespace))
        if task.replicas_max and task.replicas_max > task.replicas:
            docs.append(_autoscaler(spec, task, namespace))
    return docs


def object_name(spec: InstanceSpec, task: TaskSpec | None = None) -> str:
    return f"hspm-{short(spec.instance_id)}" + (f"-{task.name}" if task else "")


def _labels(spec: InstanceSpec, task: TaskSpec | None = None) -> dict[str, str]:
    labels = {
        "app.kubernetes.io/managed-by": MANAGER,
        "app.kubernetes.io/instance": spec.instance_id,
        f"{GROUP}/instance": spec.instance_id,
        f"{GROUP}/product": spec.product_id,
        f"{GROUP}/build": spec.build_id,
        f"{GROUP}/generation": spec.fingerprint,
    }
    if task is not None:
        labels |= {"app.kubernetes.io/name": task.name, f"{GROUP}/task": task.name}
    return labels


def _selector(spec: InstanceSpec, task: TaskSpec) -> dict[str, str]:
    # Selectors are immutable: only what never changes across builds of the instance.
    return {f"{GROUP}/instance": spec.instance_id, f"{GROUP}/task": task.name}


def _meta(name: str, namespace: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": labels}


def _container(spec: InstanceSpec, task: TaskSpec, licensed: bool) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": task.name,
        "image": spec.image,
        "imagePullPolicy": "IfNotPresent",
        "env": [{"name": k, "value": v} for k, v in task.env],
        "securityContext": {"allowPrivilegeEscalation": False},
    }
    if task.args:
        container["args"] = list(task.args)
    if task.ports:
        container["ports"] = [{"containerPort": p, "protocol": "TCP"} for p in task.ports]
        probe = {"tcpSocket": {"port": task.ports[0]}, "periodSeconds": 10, "failureThreshold": 3}
        container["readinessProbe"] = probe
        container["livenessProbe"] = probe | {"initialDelaySeconds": 10}
    resources = _resources(task)
    if resources:
        container["resources"] = resources
    if licensed:
        path = LICENSE_FILE_IN_CONTAINER
        container["volumeMounts"] = [
            {"name": "license", "mountPath": path, "subPath": "license.json", "readOnly": True}
        ]
    return container


def _resources(task: TaskSpec) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if task.memory_max_mib:
        out["limits"] = {"memory": f"{task.memory_max_mib}Mi"}
    request = task.memory_min_mib or task.memory_max_mib
    if request:
        out["requests"] = {"memory": f"{min(request, task.memory_max_mib or request)}Mi"}
    return out


def _pod(
    spec: InstanceSpec, task: TaskSpec, stop_timeout: int, licensed: bool, restart: str
) -> dict[str, Any]:
    pod: dict[str, Any] = {
        "restartPolicy": restart,
        "terminationGracePeriodSeconds": stop_timeout,
        "containers": [_container(spec, task, licensed)],
    }
    if licensed:
        pod["volumes"] = [{"name": "license", "secret": {"secretName": object_name(spec) + "-license"}}]
    return {"metadata": {"labels": _labels(spec, task)}, "spec": pod}


def _deployment(
    spec: InstanceSpec, task: TaskSpec, ns: str, stop_timeout: int, licensed: bool
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "selector": {"matchLabels": _selector(spec, task)},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
        "template": _pod(spec, task, stop_timeout, licensed, "Always"),
    }
    if not (task.replicas_max and task.replicas_max > task.replicas):
        body = {"replicas": task.replicas} | body  # an autoscaler owns it otherwise
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(object_name(spec, task), ns, _labels(spec, task)),
        "spec": body,
    }


def _service(spec: InstanceSpec, task: TaskSpec, ns: str) -> dict[str, Any]:
    ports = [{"name": f"tcp-{p}", "port": p, "targetPort": p, "protocol": "TCP"} for p in task.ports]
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(object_name(spec, task), ns, _labels(spec, task)),
        "spec": {"type": "ClusterIP", "selector": _selector(spec, task), "ports": ports},
    }


def _autoscaler(spec: InstanceSpec, task: TaskSpec, ns: str) -> dict[str, Any]:
    target = {"type": "Utilization", "averageUtilization": 80}
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _meta(object_name(spec, task), ns, _labels(spec, task)),
        "spec": {
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": object_name(spec, task),
            },
            "minReplicas": task.replicas,
            "maxReplicas": task.replicas_max,
            "metrics": [{"type": "Resource", "resource": {"name": "memory", "target": target}}],
        },
    }


def _cronjob(
    spec: InstanceSpec, task: TaskSpec, ns: str, stop_timeout: int, licensed: bool
) -> dict[str, Any]:
    job = {"backoffLimit": 0, "template": _pod(spec, task, stop_timeout, licensed, "Never")}
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": _meta(object_name(spec, task), ns, _labels(spec, task)),
        "spec": {
            "schedule": task.cron,
            "timeZone": "Etc/UTC",
            "concurrencyPolicy": "Forbid",
            "jobTemplate": {"metadata": {"labels": _labels(spec, task)}, "spec": job},
        },
    }


def _license_secret(spec: InstanceSpec, ns: str) -> dict[str, Any] | None:
    if not spec.license_file:
        return None
    document = Path(spec.license_file).read_text()
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta(object_name(spec) + "-license", ns, _labels(spec)),
        "type": "Opaque",
        "stringData": {"license.json": document},
    }
