"""One model of what to run: an instance, as the notifier names it, with its build's tasks.

The notifier's instance model says which build, by which image digest, and whether it
should run; the build's public ``marketplace.json`` says how (the default configuration's
tasks). ``instance_spec`` joins the two, refusing a document whose image digest is not
the instance's, and resolves each task's environment from the platform's values. Every
driver runs, renders or compares an ``InstanceSpec`` and nothing else.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from hspm.client.platform_agent.environment import resolve

# A label becomes part of container and Kubernetes object names: DNS-label characters.
_NOT_NAME = re.compile(r"[^a-z0-9]+")
TASK_NAME_MAX = 20


class SpecError(Exception):
    """The instance cannot be run as described; the message is reported to the marketplace."""


@dataclass(frozen=True)
class TaskSpec:
    """One task of the default configuration, ready for a driver."""

    name: str
    label: str
    replicas: int
    replicas_max: int | None
    memory_max_mib: int | None
    memory_min_mib: int | None
    ports: tuple[int, ...]
    args: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    cron: str | None = None


@dataclass(frozen=True)
class InstanceSpec:
    """What one instance should be on this platform."""

    instance_id: str
    platform_id: str
    product_id: str
    build_id: str
    version: str | None
    image: str
    desired_state: str
    tasks: tuple[TaskSpec, ...] = ()
    # Why it is running another build than the marketplace's record (a recall's fix).
    override: str | None = None
    license_file: str | None = field(default=None, compare=False)

    @property
    def digest(self) -> str:
        return self.image.rpartition("@")[2]

    @property
    def fingerprint(self) -> str:
        """Short hash of everything that shapes the containers: a change means a new rollout."""
        shaped = {"image": self.image, "tasks": [asdict(t) for t in self.tasks]}
        text = json.dumps(shaped, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> InstanceSpec:
        tasks = tuple(_task_from_json(t) for t in data.get("tasks", ()))
        fields = {k: v for k, v in data.items() if k != "tasks"}
        return cls(**fields, tasks=tasks)


def _task_from_json(data: Mapping[str, Any]) -> TaskSpec:
    values = dict(data)
    values["ports"] = tuple(values["ports"])
    values["args"] = tuple(values["args"])
    values["env"] = tuple((k, v) for k, v in values["env"])
    return TaskSpec(**values)


@dataclass(frozen=True)
class Inputs:
    """The platform's side of a spec: its variable values and the claims it injects."""

    environment: Mapping[str, str] = field(default_factory=dict)
    injected: Mapping[str, str] = field(default_factory=dict)
    license_file: str | None = None


def digest_of(image: str) -> str:
    """``sha256:...`` of a ``name@sha256:...`` reference; SpecError for a movable tag."""
    name, at, digest = image.rpartition("@")
    if not at or not name or not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
        raise SpecError(f"the image {image!r} is not named by a sha256 digest")
    return digest


def instance_spec(model: Mapping[str, Any], document: Mapping[str, Any], inputs: Inputs) -> InstanceSpec:
    """The spec of the notifier's ``model.instance`` run from ``document`` (its build's JSON)."""
    build = model["build"]
    image = str(build["image"] or "")
    documented = str(document.get("product", {}).get("build", {}).get("binary", {}).get("image", ""))
    if digest_of(documented) != digest_of(image):
        raise SpecError(f"the build's document names {documented}, not the instance's image {image}")
    tasks = distinct(tuple(task_spec(t, inputs) for t in default_tasks(document)))
    return InstanceSpec(
        instance_id=str(model["id"]),
        platform_id=str(model["platform"]["id"]),
        product_id=str(build["product"]["id"]),
        build_id=str(build["id"]),
        version=build.get("version"),
        image=image,
        desired_state=str(model.get("desired_state") or "running"),
        tasks=tasks,
        license_file=inputs.license_file,
    )


def default_tasks(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The default configuration's tasks (the first configuration's when none is marked)."""
    configs = document.get("configuration") or []
    if not configs:
        raise SpecError("the build declares no configuration")
    chosen = next((c for c in configs if c.get("default") is True), configs[0])
    tasks = chosen.get("task") or []
    if not tasks:
        raise SpecError("the default configuration declares no task")
    return list(tasks)


def task_spec(task: Mapping[str, Any], inputs: Inputs) -> TaskSpec:
    label = str(task.get("label") or task.get("name") or "task")
    ports = tuple(int(p) for p in task.get("ports") or ())
    env, errors = resolve(task.get("environment") or [], inputs.environment)
    if errors:
        raise SpecError(f"task {label!r}: " + "; ".join(errors))
    # The validator's convention, which the approved image was judged under.
    if ports and "PORT" not in env:
        env["PORT"] = str(ports[0])
    env |= dict(inputs.injected)
    minimum, maximum = _whole(task, "instances_minimum"), _whole(task, "instances_maximum")
    return TaskSpec(
        name=task_name(label),
        label=label,
        replicas=replicas(minimum, maximum),
        replicas_max=maximum or None,
        memory_max_mib=_whole(task, "memory_maximum"),
        memory_min_mib=_whole(task, "memory_minimum"),
        ports=ports,
        args=tuple(str(o) for o in task.get("options") or ()),
        env=tuple(sorted(env.items())),
        cron=(str(task["cron"]).strip() or None) if task.get("cron") else None,
    )


def replicas(minimum: int | None, maximum: int | None) -> int:
    """How many to run without an autoscaler: the minimum, at least one, at most the maximum."""
    count = max(minimum or 0, 1)
    return min(count, maximum) if maximum else count


def task_name(label: str) -> str:
    slug = _NOT_NAME.sub("-", label.lower()).strip("-")[:TASK_NAME_MAX].strip("-")
    return slug or "task"


def distinct(tasks: Sequence[TaskSpec]) -> tuple[TaskSpec, ...]:
    """Two labels with one slug get ``-2``, ``-3``...: names key containers and objects."""
    seen: dict[str, int] = {}
    out = []
    for task in tasks:
        count = seen[task.name] = seen.get(task.name, 0) + 1
        out.append(task if count == 1 else replace(task, name=f"{task.name}-{count}"))
    return tuple(out)


def _whole(task: Mapping[str, Any], key: str) -> int | None:
    value = task.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise SpecError(f"{key} must be a whole number, not {value!r}")
    return int(value)
