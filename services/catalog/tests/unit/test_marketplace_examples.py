"""The bundled example documents: valid, with exactly the warnings each is meant to show, and mapped."""

from __future__ import annotations

from importlib import resources
from typing import Any
from uuid import UUID

import orjson
import pytest

from hspm.catalog.marketplace import mapping
from hspm.catalog.marketplace.schema import validate
from hspm.client.canonical import canonical

EXAMPLES = resources.files("hspm.catalog.marketplace") / "examples"
EXPECTED_WARNINGS = {
    "cds-hooks.json": [],
    "smart.json": [],
    "cql.json": ["$.product.facts.pricing[1].measure"],
    "content.json": ["$.product.facts.technology_mime_type", "$.product.facts.runtime_dependencies[0].uuid"],
}


def load(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads((EXAMPLES / name).read_bytes())
    return doc


@pytest.mark.parametrize(("name", "paths"), EXPECTED_WARNINGS.items())
def test_examples_validate_with_their_expected_warnings(name: str, paths: list[str]) -> None:
    report = validate(load(name))
    assert report.errors == []
    assert [w.path for w in report.warnings] == paths


def test_cds_hooks_has_two_tasks_one_scheduled_and_three_price_kinds() -> None:
    plan = mapping.plan(load("cds-hooks.json"))
    (config,) = plan.configurations
    assert config.default and config.name == "default"
    assert [t.name for t in config.tasks] == ["Hook service", "Nightly guideline refresh"]
    assert [t.cron for t in config.tasks] == [None, "15 2 * * *"]
    kinds = [p["kind"] for p in load("cds-hooks.json")["product"]["facts"]["pricing"]]
    assert kinds == ["trial", "upfront", "maintenance"]


def test_smart_declares_the_smart_environment() -> None:
    (task,) = mapping.plan(load("smart.json")).configurations[0].tasks
    keys = [v["key"] for v in task.environment]
    assert keys == ["CLIENT_ID", "CLIENT_SCOPES", "OPENTELEMETRY_COLLECTOR_URL"]
    assert task.numbers == {
        "memory_minimum": 32,
        "memory_maximum": 64,
        "instances_minimum": 1,
        "instances_maximum": 0,
    }


def test_cql_maps_image_digest_and_a_pinned_runtime_dependency() -> None:
    plan = mapping.plan(load("cql.json"))
    assert plan.image.repository == "registry.quality.example/measures/diabetes-a1c"
    assert plan.image.tag == "2025.1"
    assert plan.image.digest is not None and plan.image.digest.startswith("sha256:")
    (dep,) = plan.dependencies
    assert dep.product_id == UUID("a81a71fc-6421-4978-acd4-8bfabe9db79a")
    assert dep.build_ids == [UUID("a1dda7d3-b56c-4ff9-a703-756112a1206f")]
    assert dep.mappings == "CQLTERMINOLOGY=TERMINOLOGY_URL" and dep.name == "terminology-server"
    assert [c.name for c in plan.configurations] == ["default", "configuration-2"]


def test_content_dependency_without_a_product_is_reported_unrecorded() -> None:
    plan = mapping.plan(load("content.json"))
    (dep,) = plan.dependencies
    assert dep.product_id is None and dep.interface_id is None and dep.required is False
    assert [i.path for i in mapping.unrecorded(plan.dependencies)] == [
        "$.product.facts.runtime_dependencies[0]"
    ]


def test_no_default_means_the_first_configuration_is_the_default() -> None:
    doc = load("cql.json")
    doc["configuration"][0]["default"] = False
    assert [c.default for c in mapping.plan(doc).configurations] == [True, False]


def test_task_without_id_gets_a_fresh_one() -> None:
    doc = load("content.json")
    del doc["configuration"][0]["task"][0]["id"]
    (task,) = mapping.plan(doc).configurations[0].tasks
    assert task.id.version == 4


def test_generated_document_from_rows_validates() -> None:
    product = {"id": UUID(int=1), "name": "Made by API", "mime_type": "application/vnd.docker"}
    build = {
        "id": UUID(int=2),
        "container_registry": "index.docker.io",
        "container_repository": "acme/app",
        "container_tag": "1.0.0",
        "image_digest": None,
    }
    config = {"id": UUID(int=3), "name": "default", "default": True}
    task = {
        "id": UUID(int=4),
        "configuration_id": UUID(int=3),
        "name": "web",
        "memory_minimum": None,
        "memory_maximum": 256,
        "instances_minimum": 0,
        "instances_maximum": None,
        "options": [],
        "ports": [80],
        "cron": None,
        "environment": [{"key": "PORT", "description": "Port", "required": False}],
    }
    doc = mapping.document_from("https://m.example", product, build, [config], [task], [])
    report = validate(doc)
    assert report.errors == [] and report.warnings == []
    # The registry as a URI, and the image naming its registry (issue 9: one stored form).
    assert doc["product"]["build"]["binary"] == {
        "registry": "https://index.docker.io",
        "image": "index.docker.io/acme/app:1.0.0",
    }
    assert canonical(doc).startswith(b'{"$schema":')
