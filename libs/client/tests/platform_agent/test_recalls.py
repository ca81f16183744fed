"""The platform's recall policy, per severity."""

from __future__ import annotations

from hspm.client.platform_agent.recalls import NOTIFY, STOP, UPGRADE, Recall

POLICY = {"critical": STOP, "high": UPGRADE, "low": NOTIFY}


def recall(severity: str, fixed: str | None = "b-2") -> Recall:
    model = {
        "id": "r-1",
        "product": {"id": "p"},
        "severity": severity,
        "reason": "Wrong dose.",
        "affected_builds": ["b-1"],
        "fixed_build": {"id": fixed} if fixed else None,
    }
    return Recall.from_model(model)


def test_the_policy_decides_and_an_upgrade_needs_a_fix() -> None:
    assert recall("critical").action(POLICY) == STOP
    assert recall("high").action(POLICY) == UPGRADE
    assert recall("high", fixed=None).action(POLICY) == NOTIFY
    assert recall("moderate").action(POLICY) == NOTIFY  # unset severities only notify
    assert recall("high").affected == frozenset({"b-1"})
    assert "upgraded to build b-2" in recall("high").note(UPGRADE)
