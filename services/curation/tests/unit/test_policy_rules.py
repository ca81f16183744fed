"""Pure rules of the validation policy."""

from __future__ import annotations

import pytest

from hspm.common.errors import ValidationFailed
from hspm.common.events.curation import RuleException, ValidationPolicy
from hspm.common.events.validator import DEFAULT_REQUIRED_RULES, RULE_IDS, RuleResult
from hspm.curation.policy import rules
from hspm.curation.policy.models import PolicyUpdate


def test_initial_policy() -> None:
    policy = rules.initial(["r.local:5000"], ["r.local:5000"], ["org.opencontainers.image.title"])
    assert policy.required_rules == list(DEFAULT_REQUIRED_RULES)
    assert policy.allowed_registries == ["r.local:5000"] == policy.insecure_registries
    assert policy.required_labels == ["org.opencontainers.image.title"] and policy.exceptions == []


def test_known_rules_are_every_rule_once() -> None:
    assert set(rules.KNOWN_RULES) == RULE_IDS and len(rules.KNOWN_RULES) == len(RULE_IDS)


def test_parse_drops_rendered_fields_and_dedupes() -> None:
    policy = rules.parse(
        {
            "required_rules": ["env.names", "env.names", "image.size"],
            "url": "x",
            "known_rules": [],
            "max_layers": 9,
        }
    )
    assert policy.required_rules == ["env.names", "image.size"] and policy.max_layers == 9


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"required_rules": ["nope"]}, "required_rules"),
        ({"exceptions": []}, "exceptions"),
        ({"whatever": 1}, "whatever"),
        ({"cpu_cores": 0}, "cpu_cores"),
        ("policy", "validation_policy"),
    ],
)
def test_parse_refuses(data, field) -> None:
    with pytest.raises(ValidationFailed) as info:
        rules.parse(data)
    assert field in info.value.errors


def test_document_round_trip_leaves_exceptions_out() -> None:
    policy = ValidationPolicy(required_rules=["env.names"], exceptions=[RuleException(rule="x", reason="y")])
    stored = rules.document(policy)
    assert "exceptions" not in stored
    assert rules.load(stored) == policy.model_copy(update={"exceptions": []})


def test_for_product_attaches_exceptions() -> None:
    policy = rules.for_product(ValidationPolicy(), [("user.non_root", "base image")])
    assert policy.exceptions == [RuleException(rule="user.non_root", reason="base image")]


def _rule(rule: str, status: str, required: bool = True, waived: str | None = None) -> RuleResult:
    return RuleResult(rule=rule, title=rule, phase="static", status=status, required=required, waived=waived)


def test_failed_required() -> None:
    results = [
        _rule("a", "fail"),
        _rule("b", "fail", required=False),
        _rule("c", "fail", waived="ok"),
        _rule("d", "warning"),
        _rule("e", "pass"),
        _rule("f", "fail"),
    ]
    assert rules.failed_required(results) == ["a", "f"]


def test_the_request_body_mirrors_the_contract_without_exceptions() -> None:
    """PUT /validation_policy takes the contract's fields, limits and defaults (less exceptions)."""
    contract = ValidationPolicy.model_json_schema()["properties"]
    del contract["exceptions"]
    assert PolicyUpdate.model_json_schema()["properties"] == contract
    assert PolicyUpdate().model_dump() == ValidationPolicy().model_dump(exclude={"exceptions"})
    assert PolicyUpdate.model_config.get("extra") == "forbid"


def test_parse_takes_strings_as_sent() -> None:
    """As the contract did: registries and labels are not trimmed or otherwise changed."""
    policy = rules.parse({"allowed_registries": [" r.local:5000 "], "required_labels": ["a "]})
    assert policy.allowed_registries == [" r.local:5000 "] and policy.required_labels == ["a "]
