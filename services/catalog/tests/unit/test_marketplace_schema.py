"""marketplace.json validation: JSON paths, strict rules as errors, schema defects as warnings."""

from __future__ import annotations

import copy
from importlib import resources
from typing import Any

import orjson
import pytest

from hspm.catalog.marketplace.checks import Report, is_cron
from hspm.catalog.marketplace.oci import ImageReference, parse_image
from hspm.catalog.marketplace.schema import validate

EXAMPLES = resources.files("hspm.catalog.marketplace") / "examples"
TASK = "$.configuration[0].task[0]"


def example(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads((EXAMPLES / name).read_bytes())
    return doc


@pytest.fixture
def doc() -> dict[str, Any]:
    """A valid document (the SMART example) to break one rule at a time."""
    return copy.deepcopy(example("smart.json"))


def task(doc: dict[str, Any]) -> dict[str, Any]:
    t: dict[str, Any] = doc["configuration"][0]["task"][0]
    return t


def errors(report: Report) -> dict[str, str]:
    return {i.path: i.rule for i in report.errors}


def warnings(report: Report) -> dict[str, str]:
    return {i.path: i.rule for i in report.warnings}


def test_the_base_document_is_clean(doc: dict[str, Any]) -> None:
    report = validate(doc)
    assert report.valid and report.warnings == []
    assert report.as_json() == {"valid": True, "errors": [], "warnings": []}


@pytest.mark.parametrize("value", [None, [], "text", 3])
def test_a_non_object_document_is_one_error(value: Any) -> None:
    assert errors(validate(value)) == {"$": "type"}


@pytest.mark.parametrize("key", ["marketplace_url", "product", "configuration", "provenance"])
def test_top_level_keys_are_required(doc: dict[str, Any], key: str) -> None:
    del doc[key]
    assert errors(validate(doc)) == {f"$.{key}": "required"}


def test_provenance_may_be_empty(doc: dict[str, Any]) -> None:
    doc["provenance"] = []
    assert validate(doc).valid


@pytest.mark.parametrize(
    "key", ["name", "stewards", "technology_mime_type", "runtime_dependencies", "networking"]
)
def test_facts_are_required(doc: dict[str, Any], key: str) -> None:
    del doc["product"]["facts"][key]
    assert errors(validate(doc)) == {f"$.product.facts.{key}": "required"}


def test_product_and_build_uuids_must_be_uuids(doc: dict[str, Any]) -> None:
    doc["product"]["uuid"] = "not-a-uuid"
    doc["product"]["build"]["uuid"] = ""
    assert errors(validate(doc)) == {"$.product.uuid": "uuid", "$.product.build.uuid": "uuid"}


def test_build_dependency_is_optional_but_an_array_when_present(doc: dict[str, Any]) -> None:
    del doc["product"]["build"]["dependency"]
    assert validate(doc).valid
    doc["product"]["build"]["dependency"] = {}
    assert errors(validate(doc)) == {"$.product.build.dependency": "type"}


def test_environment_keys_must_be_upper_case_letters_digits_and_underscore(doc: dict[str, Any]) -> None:
    task(doc)["environment"][1]["key"] = "client-scopes"
    task(doc)["environment"][2]["key"] = "OpenTelemetry"
    assert errors(validate(doc)) == {
        f"{TASK}.environment[1].key": "env-key",
        f"{TASK}.environment[2].key": "env-key",
    }


def test_environment_values_are_strings(doc: dict[str, Any]) -> None:
    task(doc)["environment"][1]["default"] = 5
    assert errors(validate(doc)) == {f"{TASK}.environment[1].default": "env-value"}


def test_environment_keys_are_unique_per_task(doc: dict[str, Any]) -> None:
    task(doc)["environment"][1]["key"] = "CLIENT_ID"
    assert errors(validate(doc)) == {f"{TASK}.environment[1].key": "unique"}


def test_a_pattern_must_compile(doc: dict[str, Any]) -> None:
    task(doc)["environment"][0]["pattern"] = "([a-z"
    assert errors(validate(doc)) == {f"{TASK}.environment[0].pattern": "pattern"}


def test_a_default_must_match_its_pattern(doc: dict[str, Any]) -> None:
    var = task(doc)["environment"][2]
    var["default"] = "ftp://collector"
    assert errors(validate(doc)) == {f"{TASK}.environment[2].default": "pattern"}
    var["default"] = "https://collector:4318"
    assert validate(doc).valid


def test_every_task_declares_its_maximum_memory(doc: dict[str, Any]) -> None:
    del task(doc)["memory_maximum"]
    assert errors(validate(doc)) == {f"{TASK}.memory_maximum": "memory"}


@pytest.mark.parametrize("bad", [0, -1, 1.5, "64", True, None])
def test_memory_is_a_whole_number_of_mib(doc: dict[str, Any], bad: Any) -> None:
    task(doc)["memory_maximum"] = bad
    assert errors(validate(doc)) == {f"{TASK}.memory_maximum": "memory"}


def test_memory_minimum_may_not_exceed_the_maximum(doc: dict[str, Any]) -> None:
    task(doc)["memory_minimum"] = 65
    assert errors(validate(doc)) == {f"{TASK}.memory_minimum": "memory"}
    task(doc)["memory_minimum"] = 64.0
    assert validate(doc).valid


def test_instances_minimum_may_not_exceed_a_non_zero_maximum(doc: dict[str, Any]) -> None:
    task(doc)["instances_minimum"] = 3
    task(doc)["instances_maximum"] = 0  # unlimited
    assert validate(doc).valid
    task(doc)["instances_maximum"] = 2
    assert errors(validate(doc)) == {f"{TASK}.instances_minimum": "instances"}


@pytest.mark.parametrize("port", [0, 65536, -80, 80.5, "80"])
def test_ports_are_1_to_65535(doc: dict[str, Any], port: Any) -> None:
    task(doc)["ports"] = [80, port]
    assert errors(validate(doc)) == {f"{TASK}.ports[1]": "port"}


def test_configuration_and_task_need_at_least_one_item(doc: dict[str, Any]) -> None:
    task_less = copy.deepcopy(doc)
    task_less["configuration"][0]["task"] = []
    assert errors(validate(task_less)) == {"$.configuration[0].task": "min-items"}
    doc["configuration"] = []
    assert errors(validate(doc)) == {"$.configuration": "min-items"}


def test_several_default_configurations_are_an_error(doc: dict[str, Any]) -> None:
    doc["configuration"].append(copy.deepcopy(doc["configuration"][0]))
    del doc["configuration"][1]["task"][0]["id"]
    report = validate(doc)
    assert errors(report) == {"$.configuration": "default-configuration"}


def test_no_default_configuration_warns(doc: dict[str, Any]) -> None:
    doc["configuration"][0]["default"] = False
    report = validate(doc)
    assert report.valid
    assert warnings(report) == {"$.configuration": "default-configuration"}


def test_task_id_is_optional_with_a_warning_but_unique_when_given(doc: dict[str, Any]) -> None:
    del task(doc)["id"]
    report = validate(doc)
    assert report.valid and warnings(report) == {f"{TASK}.id": "task-id"}
    second = copy.deepcopy(doc["configuration"][0])
    second["default"] = False
    task(doc)["id"] = second["task"][0]["id"] = "742ca510-4d28-4028-8444-4d756ebc1624"
    doc["configuration"].append(second)
    assert errors(validate(doc)) == {"$.configuration[1].task[0].id": "unique"}


def test_task_labels_are_unique_within_a_configuration(doc: dict[str, Any]) -> None:
    twin = copy.deepcopy(task(doc))
    del twin["id"]
    doc["configuration"][0]["task"].append(twin)
    assert errors(validate(doc)) == {"$.configuration[0].task[1].label": "unique"}


def test_a_non_cron_schedule_only_warns(doc: dict[str, Any]) -> None:
    task(doc)["cron"] = "At 00:00"
    report = validate(doc)
    assert report.valid and warnings(report) == {f"{TASK}.cron": "cron"}


@pytest.mark.parametrize("expr", ["* * * * *", "15 2 * * 1-5", "*/10 0,12 1 JAN ?"])
def test_cron_expressions(expr: str) -> None:
    assert is_cron(expr)


@pytest.mark.parametrize("kind", ["maintainence", "maintenance"])
def test_both_spellings_of_maintenance_are_accepted(doc: dict[str, Any], kind: str) -> None:
    doc["product"]["facts"]["pricing"] = [{"name": "Support", "kind": kind, "rate": "10", "measure": "hour"}]
    report = validate(doc)
    assert report.valid and report.warnings == []


def test_pricing_enums(doc: dict[str, Any]) -> None:
    doc["product"]["facts"]["pricing"] = [
        {"name": "A", "kind": "lifetime", "rate": "1", "measure": "hour"},
        {"name": "B", "kind": "meter", "rate": "1", "measure": "byte"},
        {"name": "C", "kind": "meter", "rate": "1", "measure": ""},
    ]
    report = validate(doc)
    prefix = "$.product.facts.pricing"
    assert errors(report) == {f"{prefix}[0].kind": "enum", f"{prefix}[1].measure": "enum"}
    assert warnings(report) == {f"{prefix}[2].measure": "enum"}


def test_empty_technology_mime_type_warns(doc: dict[str, Any]) -> None:
    doc["product"]["facts"]["technology_mime_type"] = ""
    report = validate(doc)
    assert report.valid and warnings(report) == {"$.product.facts.technology_mime_type": "mime-type"}


def test_runtime_dependency_uuid_empty_warns_and_malformed_errs(doc: dict[str, Any]) -> None:
    doc["product"]["facts"]["runtime_dependencies"] = [
        {"uuid": "", "build": []},
        {"uuid": "cqf-ruler", "build": ["nope"], "interface_id": "x", "required": "yes"},
    ]
    report = validate(doc)
    prefix = "$.product.facts.runtime_dependencies"
    assert warnings(report) == {f"{prefix}[0].uuid": "uuid"}
    assert errors(report) == {
        f"{prefix}[1].uuid": "uuid",
        f"{prefix}[1].build[0]": "uuid",
        f"{prefix}[1].interface_id": "uuid",
        f"{prefix}[1].required": "type",
    }


def test_urls_are_http_or_mailto_and_empty_ones_warn(doc: dict[str, Any]) -> None:
    facts = doc["product"]["facts"]
    facts["licensing"][0]["url"] = "opensource.org/license/mit"
    facts["customer_service"][0]["url"] = "mailto:help@example.org"
    facts["networking"] = [{"name": "CDN", "uri": ""}]
    doc["marketplace_url"] = "ftp://marketplace.example.org"
    report = validate(doc)
    assert errors(report) == {"$.marketplace_url": "url", "$.product.facts.licensing[0].url": "url"}
    assert warnings(report) == {"$.product.facts.networking[0].uri": "url"}


def test_steward_roles_and_service_kinds(doc: dict[str, Any]) -> None:
    facts = doc["product"]["facts"]
    facts["stewards"][0]["role"] = "sponsor"
    facts["customer_service"][0]["service"] = "fax"
    assert errors(validate(doc)) == {
        "$.product.facts.stewards[0].role": "enum",
        "$.product.facts.customer_service[0].service": "enum",
    }


def test_binary_image_must_be_an_oci_reference_and_registry_a_uri(doc: dict[str, Any]) -> None:
    doc["product"]["build"]["binary"] = {"registry": "index.docker.io", "image": "Not An Image!"}
    assert errors(validate(doc)) == {
        "$.product.build.binary.registry": "uri",
        "$.product.build.binary.image": "image",
    }


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("nginx", ImageReference("nginx", None, None)),
        ("acme/risk:1.4.0", ImageReference("acme/risk", "1.4.0", None)),
        ("localhost:5000/a/b:v1", ImageReference("localhost:5000/a/b", "v1", None)),
        ("ghcr.io/x/y@sha256:" + "ab" * 32, ImageReference("ghcr.io/x/y", None, "sha256:" + "ab" * 32)),
        (
            "r.example:443/x:t@sha256:" + "0" * 64,
            ImageReference("r.example:443/x", "t", "sha256:" + "0" * 64),
        ),
    ],
)
def test_oci_references_parse(text: str, ref: ImageReference) -> None:
    assert parse_image(text) == ref
    assert str(ref) == text


@pytest.mark.parametrize(
    "text", ["", "a//b", "acme/UPPER", "x:", "x:-tag", "x@sha256:abc", "x@md5:" + "0" * 32, "a b"]
)
def test_bad_oci_references_are_refused(text: str) -> None:
    assert isinstance(parse_image(text), str)


def test_issue_paths_index_arrays_and_name_keys(doc: dict[str, Any]) -> None:
    doc["configuration"][0]["task"].append({"label": "Worker", "memory_maximum": 64, "environment": [{}]})
    report = validate(doc)
    assert errors(report) == {
        "$.configuration[0].task[1].environment[0].key": "required",
        "$.configuration[0].task[1].environment[0].description": "required",
    }
    assert report.errors[0].message == "is required"
