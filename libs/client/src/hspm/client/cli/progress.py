"""Following a submitted build through validation: what a review state means for the exit
code, the live progress line, and the failing rules worth printing.

Pure functions of the API's documents (review cases and validation runs), so what
``hspm build submit`` decides and prints is tested without a marketplace.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hspm.client.cli.output import Exit

# Still on its way: the case is opened (an event away), submitted, or being validated.
IN_PROGRESS = frozenset({"submitted", "validating"})
# Validated: waiting for a curator, or already past them.
VALIDATED = frozenset({"awaiting_review", "approved", "published"})
SPINNER = "|/-\\"


@dataclass(frozen=True)
class Snapshot:
    """What one look at the build showed: its case's state and its latest run, if any."""

    state: str | None
    run: Mapping[str, Any] | None

    @property
    def settled(self) -> bool:
        """Validation has decided (the case left submitted/validating with a completed run)."""
        if self.state is None or self.state in IN_PROGRESS:
            return False
        if self.run is None:
            # A rejection is explained by its run: wait for it (a validated case may have none).
            return self.state != "auto_rejected"
        return self.run.get("status") == "completed"

    @property
    def exit_code(self) -> Exit:
        return Exit.OK if self.state in VALIDATED else Exit.FAILED


def describe(snap: Snapshot) -> str:
    """One line: the case's state and the run's progress (``validating: run running``)."""
    state = snap.state or "waiting for curation to open a case"
    if snap.run is None:
        return state
    run = snap.run
    done = sum(1 for r in run.get("rules") or [] if r.get("status") not in (None, "pending"))
    rules = f", {done} rules checked" if done else ""
    outcome = f" ({run['outcome']})" if run.get("outcome") else ""
    return f"{state}: run {run.get('status', '?')}{outcome}{rules}"


def progress_line(snap: Snapshot, elapsed: float, tick: int) -> str:
    """The TTY's line, rewritten in place: spinner, elapsed time, state."""
    return f"\r\x1b[K{SPINNER[tick % len(SPINNER)]} {int(elapsed):>4}s  {describe(snap)}"


def failing_rules(run: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    """The rules that failed, required (the ones that reject) first."""
    rules: Sequence[Mapping[str, Any]] = (run or {}).get("rules") or []
    failed = [r for r in rules if r.get("status") == "fail" and not r.get("waived")]
    return sorted(failed, key=lambda r: (not r.get("required"), str(r.get("rule"))))


def failure_report(snap: Snapshot) -> str:
    """Why the build did not pass: each failing rule, its evidence and how to fix it."""
    lines = [f"Validation failed: the build's review is {snap.state}."]
    run = snap.run or {}
    if run.get("summary"):
        lines.append(str(run["summary"]).strip())
    failed = failing_rules(run)
    for rule in failed:
        kind = "required" if rule.get("required") else "advisory"
        lines.append(f"  FAIL {rule.get('rule')} ({kind}): {rule.get('title', '')}".rstrip())
        if rule.get("evidence"):
            lines.append(f"       {' '.join(str(rule['evidence']).split())[:300]}")
        if rule.get("suggestion"):
            lines.append(f"       fix: {rule['suggestion']}")
    if not failed and run.get("error"):
        lines.append(f"  error: {run['error']}")
    return "\n".join(lines) + "\n"


def success_report(snap: Snapshot) -> str:
    outcome = (snap.run or {}).get("outcome") or "passed"
    return f"Validated ({outcome}): the build's review is {snap.state}.\n"


def document_issues(body: Any) -> list[str]:
    """A refused marketplace.json's issues (``path: message [rule]``), from the 422 body."""
    issues = body.get("issues") if isinstance(body, dict) else None
    if not isinstance(issues, list):
        return []
    return [f"  {i.get('path')}: {i.get('message')} [{i.get('rule')}]" for i in issues if isinstance(i, dict)]
