"""Pure rules of the validation policy: its defaults, its edits, a product's exceptions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from hspm.common.errors import ValidationFailed
from hspm.common.events.curation import RuleException, ValidationPolicy
from hspm.common.events.validator import (
    DEFAULT_REQUIRED_RULES,
    RULE_IDS,
    RUNTIME_RULES,
    STATIC_RULES,
    RuleResult,
)
from hspm.common.web.body import SERVER_FIELDS, validation_errors
from hspm.curation.policy.models import PolicyUpdate

# Every rule id in the validator's order: ISVs and operators read the policy against it.
KNOWN_RULES: tuple[str, ...] = STATIC_RULES + RUNTIME_RULES
# Exceptions are per product, kept apart and merged into each request.
EDITABLE: frozenset[str] = frozenset(PolicyUpdate.model_fields)
# Shown to staff only: which registries are trusted (private addresses, plain HTTP) and
# which product skips which check are a map for an attacker, not for the ISV.
STAFF_ONLY: frozenset[str] = frozenset({"allowed_registries", "insecure_registries", "exceptions"})
# Rendered with the policy; a client echoing the document back may send them.
RENDERED: frozenset[str] = SERVER_FIELDS | {"known_rules", "updated_by"}


def initial(
    allowed_registries: Sequence[str], insecure_registries: Sequence[str], required_labels: Sequence[str]
) -> ValidationPolicy:
    """A fresh installation's policy: the spec's provable MUSTs, registries from settings."""
    return ValidationPolicy(
        required_rules=list(DEFAULT_REQUIRED_RULES),
        allowed_registries=list(allowed_registries),
        insecure_registries=list(insecure_registries),
        required_labels=list(required_labels),
    )


def parse(data: Any) -> PolicyUpdate:
    """A client's whole policy document; unknown fields and rule ids are 422 naming them."""
    if not isinstance(data, Mapping):
        raise ValidationFailed.field("validation_policy", "must be a JSON object")
    fields = {k: v for k, v in data.items() if k not in RENDERED}
    unknown = sorted(set(fields) - EDITABLE)
    if unknown:
        raise ValidationFailed({k: ["is not a policy field"] for k in unknown})
    try:
        policy = PolicyUpdate.model_validate(fields)
    except ValidationError as exc:
        raise validation_errors(exc) from exc
    bad = sorted(set(policy.required_rules) - RULE_IDS)
    if bad:
        raise ValidationFailed.field("required_rules", f"unknown rule ids: {', '.join(bad)}")
    return policy.model_copy(update={"required_rules": list(dict.fromkeys(policy.required_rules))})


def document(policy: ValidationPolicy) -> dict[str, Any]:
    """What is stored: the policy without exceptions."""
    return policy.model_dump(mode="json", exclude={"exceptions"})


def load(stored: Mapping[str, Any]) -> ValidationPolicy:
    """A stored document; fields added to the contract later take their defaults."""
    return ValidationPolicy.model_validate(stored)


def for_product(policy: ValidationPolicy, exceptions: Iterable[tuple[str, str]]) -> ValidationPolicy:
    """The policy in force for one product: its exceptions (rule, reason) attached."""
    waived = [RuleException(rule=rule, reason=reason) for rule, reason in exceptions]
    return policy.model_copy(update={"exceptions": waived})


def failed_required(rules: Iterable[RuleResult]) -> list[str]:
    """Rules that reject a build: required, failed and not waived."""
    return [r.rule for r in rules if r.required and r.status == "fail" and not r.waived]
