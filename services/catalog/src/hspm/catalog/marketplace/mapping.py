"""Between ``marketplace.json`` and the catalog's rows: a build, its configurations, tasks, dependencies."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from hspm.catalog.builds import rules as build_rules
from hspm.catalog.marketplace.checks import Issue, is_uuid
from hspm.catalog.marketplace.configurations import unaliased_task
from hspm.catalog.marketplace.oci import ImageReference, parse_image
from hspm.catalog.marketplace.schema import image_of, registry_of

ENV_FIELDS = ("key", "description", "required", "default", "pattern")
TASK_NUMBERS = ("memory_minimum", "memory_maximum", "instances_minimum", "instances_maximum")
# A database row or any mapping with the same keys (tests use dicts).
Row = Mapping[str, Any] | asyncpg.Record
SCHEMA_ID = "https://marketplace-schema.logicahealth.org/build.json"


@dataclass(frozen=True)
class TaskRow:
    id: UUID
    name: str
    numbers: dict[str, int]
    options: list[str]
    ports: list[int]
    cron: str | None
    environment: list[dict[str, Any]]


@dataclass(frozen=True)
class ConfigurationRow:
    id: UUID
    name: str
    default: bool
    tasks: list[TaskRow]


@dataclass(frozen=True)
class DependencyRow:
    path: str
    product_id: UUID | None
    build_ids: list[UUID]
    interface_id: UUID | None
    name: str | None
    required: bool
    mappings: str | None


@dataclass(frozen=True)
class BuildPlan:
    """Everything an import writes, taken from a document that validated."""

    id: UUID
    product_id: UUID
    registry: str | None  # canonical host[:port] (``build_rules.canonical_registry``)
    repository: str  # the image's path, without its registry host
    image: ImageReference
    configurations: list[ConfigurationRow]
    dependencies: list[DependencyRow]


def plan(document: dict[str, Any]) -> BuildPlan:
    """The rows of a valid document (``validate`` found no errors)."""
    build = document["product"]["build"]
    registry, repository = registry_of(document)
    return BuildPlan(
        id=UUID(build["uuid"]),
        product_id=UUID(document["product"]["uuid"]),
        registry=registry,
        repository=repository,
        image=image_of(document),
        configurations=_configurations(document["configuration"]),
        dependencies=list(_dependencies(document)),
    )


def _configurations(configs: list[dict[str, Any]]) -> list[ConfigurationRow]:
    # No default declared means the first one is (a warning at validation).
    chosen = next((i for i, c in enumerate(configs) if c["default"] is True), 0)
    rows = []
    for i, config in enumerate(configs):
        # The document names no configurations; the row needs a unique name.
        name = "default" if i == chosen else f"configuration-{i + 1}"
        declared = {t["configuration_id"] for t in config["task"] if "configuration_id" in t}
        config_id = UUID(declared.pop()) if declared else uuid4()
        rows.append(ConfigurationRow(config_id, name, i == chosen, [_task(t) for t in config["task"]]))
    return rows


def _task(given: dict[str, Any]) -> TaskRow:
    task = unaliased_task(given)[0]
    return TaskRow(
        id=UUID(task["id"]) if "id" in task else uuid4(),
        name=task["label"],
        numbers={k: int(task[k]) for k in TASK_NUMBERS if k in task},
        options=list(task.get("options", [])),
        ports=[int(p) for p in task.get("ports", [])],
        cron=task.get("cron"),
        environment=[{k: v[k] for k in ENV_FIELDS if k in v} for v in task.get("environment", [])],
    )


def _dependencies(document: dict[str, Any]) -> Iterator[DependencyRow]:
    build_deps = document["product"]["build"].get("dependency", [])
    runtime = document["product"]["facts"]["runtime_dependencies"]
    for i, dep in enumerate(build_deps):
        yield _dependency(dep, f"$.product.build.dependency[{i}]")
    for i, dep in enumerate(runtime):
        yield _dependency(dep, f"$.product.facts.runtime_dependencies[{i}]")


def _dependency(dep: dict[str, Any], path: str) -> DependencyRow:
    return DependencyRow(
        path=path,
        product_id=UUID(dep["uuid"]) if is_uuid(dep["uuid"]) else None,
        build_ids=[UUID(b) for b in dep["build"]],
        interface_id=UUID(dep["interface_id"]) if "interface_id" in dep else None,
        name=dep.get("name"),
        required=dep.get("required", True),
        mappings=dep.get("mappings"),
    )


def unrecorded(deps: Sequence[DependencyRow]) -> list[Issue]:
    """Dependencies naming neither a product nor an interface: kept only in the document."""
    return [
        Issue(d.path, "names no product or interface; kept in the document only", "dependency")
        for d in deps
        if d.product_id is None and d.interface_id is None
    ]


# --- rows back to a document (builds made through the API) ---------------------------------


def document_from(
    marketplace_url: str,
    product: Row,
    build: Row,
    configurations: Sequence[Row],
    tasks: Sequence[Row],
    dependencies: Sequence[Row],
) -> dict[str, Any]:
    """A ``marketplace.json`` describing what the catalog knows of a build."""
    return {
        "$schema": SCHEMA_ID,
        "marketplace_url": marketplace_url,
        "product": {
            "uuid": str(product["id"]),
            "build": {"uuid": str(build["id"]), "binary": _binary(build), "dependency": []},
            "facts": _facts(product, dependencies),
        },
        "configuration": [_configuration(c, tasks) for c in configurations],
        "provenance": [],
    }


def _binary(build: Row) -> dict[str, str]:
    """The image by digest once one is known (``registry/repository@digest``), else by tag."""
    registry = build_rules.canonical_registry(build["container_registry"] or "")
    image = build_rules.image_reference(
        registry, build["container_repository"], build["container_tag"], build["image_digest"]
    )
    return {"registry": f"https://{registry}" if registry else "", "image": image or ""}


def pinned(document: dict[str, Any], build: Row) -> dict[str, Any]:
    """A stored document naming the build's image by its digest, once one is known: what
    platforms must pull is what was validated, whatever the submitted tag names later."""
    binary = document["product"]["build"]["binary"]
    named = parse_image(binary["image"])
    if not build["image_digest"] or (
        isinstance(named, ImageReference) and named.digest == build["image_digest"]
    ):
        return document  # no digest yet, or the document names exactly this one already
    registry = build_rules.canonical_registry(build["container_registry"] or "")
    image = build_rules.image_reference(registry, build["container_repository"], None, build["image_digest"])
    if binary.get("image") == image:
        return document
    out = dict(document)
    out["product"] = dict(document["product"])
    out["product"]["build"] = dict(document["product"]["build"], binary=dict(binary, image=image))
    return out


def _facts(product: Row, dependencies: Sequence[Row]) -> dict[str, Any]:
    empty = ("organization", "stewards", "licensing", "domain", "cybersecurity", "customer_service")
    facts: dict[str, Any] = {k: [] for k in empty}
    facts |= {"data_access": [], "identify_and_access_management": [], "networking": []}
    facts["name"] = product["name"]
    facts["technology_mime_type"] = product["mime_type"] or ""
    facts["runtime_dependencies"] = [_runtime_dependency(d) for d in dependencies]
    return facts


def _runtime_dependency(dep: Row) -> dict[str, Any]:
    out: dict[str, Any] = {
        "uuid": str(dep["product_id"]) if dep["product_id"] else "",
        "build": [str(b) for b in dep["build_ids"]],
        "required": dep["required"],
    }
    if dep["interface_id"] is not None:
        out["interface_id"] = str(dep["interface_id"])
    if isinstance(dep["mappings"], str):
        out["mappings"] = dep["mappings"]
    if dep["name"] is not None:
        out["name"] = dep["name"]
    return out


def _configuration(config: Row, tasks: Sequence[Row]) -> dict[str, Any]:
    own = [t for t in tasks if t["configuration_id"] == config["id"]]
    return {"default": config["default"], "task": [_task_json(t) for t in own]}


def _task_json(task: Row) -> dict[str, Any]:
    out: dict[str, Any] = {"id": str(task["id"]), "configuration_id": str(task["configuration_id"])}
    out["label"] = task["name"]
    out |= {k: task[k] for k in TASK_NUMBERS if task[k] is not None}
    out |= {
        "options": list(task["options"]),
        "ports": list(task["ports"]),
        "environment": task["environment"],
    }
    if task["cron"] is not None:
        out["cron"] = task["cron"]
    return out
