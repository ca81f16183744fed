"""Settings from the environment, and the decision body's rules."""

from __future__ import annotations

from uuid import uuid4

import pytest
from pydantic import ValidationError

from hspm.curation.config import Settings
from hspm.curation.reviews.models import DecisionCreate


def test_comma_separated_registries(monkeypatch) -> None:
    monkeypatch.setenv("HSPM_POLICY_ALLOWED_REGISTRIES", " registry.local:5000 ,10.0.0.5:5000,, ")
    monkeypatch.setenv("HSPM_POLICY_INSECURE_REGISTRIES", "")
    monkeypatch.setenv("HSPM_REVALIDATE_INTERVAL_SECONDS", "0")
    s = Settings()
    assert s.policy_allowed_registries == ["registry.local:5000", "10.0.0.5:5000"]
    assert s.policy_insecure_registries == []
    assert s.policy_required_labels == ["org.opencontainers.image.title"]
    assert s.revalidate_interval_seconds == 0 and s.http_port == 8083
    assert s.database_url.endswith("/hspm_curation")


def test_defaults(monkeypatch) -> None:
    for name in ("HSPM_POLICY_ALLOWED_REGISTRIES", "HSPM_REVALIDATE_INTERVAL_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    s = Settings()
    assert s.policy_allowed_registries == [] and s.revalidate_interval_seconds == 86_400


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"decision": "reject"}, "reason"),
        ({"decision": "request_changes", "reason": ""}, "reason"),
        ({"decision": "withdraw", "reason": None}, "reason"),
        ({"decision": "deprecate", "badge_ids": [str(uuid4())]}, "badge_ids"),
        ({"decision": "maybe"}, "decision"),
    ],
)
def test_bad_decisions(body, field) -> None:
    with pytest.raises(ValidationError) as info:
        DecisionCreate.model_validate(body)
    assert [e["loc"][0] for e in info.value.errors()] == [field]


def test_good_decisions() -> None:
    badge = uuid4()
    approve = DecisionCreate.model_validate({"decision": "approve", "badge_ids": [str(badge), str(badge)]})
    assert approve.badge_ids == [badge] and approve.reason is None
    deprecate = DecisionCreate.model_validate({"decision": "deprecate", "reason": "  "})
    assert deprecate.reason is None
    reject = DecisionCreate.model_validate({"decision": "reject", "reason": " Too big. "})
    assert reject.reason == "Too big."
