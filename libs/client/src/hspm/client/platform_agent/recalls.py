"""Recalls: what the platform's policy does with a recalled build it runs.

Per severity the platform chooses ``notify`` (log it and tell the marketplace, keep
running), ``upgrade`` (run the recall's fixed build instead, health-gated like any
rollout) or ``stop`` (remove the instance's containers). An upgrade with no fixed build
falls back to ``notify``. The action is recorded as an override of the instance, kept
until the marketplace's own record of the instance moves off the recalled build; then
the recall is acknowledged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

NOTIFY, UPGRADE, STOP = "notify", "upgrade", "stop"


@dataclass(frozen=True)
class Recall:
    id: str
    product_id: str
    severity: str
    reason: str
    affected: frozenset[str]
    fixed_build_id: str | None

    @classmethod
    def from_model(cls, recall: Mapping[str, Any]) -> Recall:
        fixed = recall.get("fixed_build") or {}
        return cls(
            id=str(recall["id"]),
            product_id=str((recall.get("product") or {}).get("id", "")),
            severity=str(recall.get("severity", "")),
            reason=str(recall.get("reason", "")),
            affected=frozenset(str(b) for b in recall.get("affected_builds") or ()),
            fixed_build_id=str(fixed["id"]) if fixed.get("id") else None,
        )

    def action(self, policy: Mapping[str, str]) -> str:
        chosen = policy.get(self.severity, NOTIFY)
        if chosen == UPGRADE and self.fixed_build_id is None:
            return NOTIFY
        return chosen

    def note(self, action: str) -> str:
        """The line the instance's report carries while the recall applies to it."""
        what = {NOTIFY: "left running", UPGRADE: f"upgraded to build {self.fixed_build_id}", STOP: "stopped"}
        done = what.get(action, action)
        return f"recall {self.id} ({self.severity}): {self.reason} — {done} by platform policy"
