"""A run as a text report a person reads: verdict, then each rule with evidence and a fix."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

_MARKS = {"pass": "PASS", "fail": "FAIL", "warning": "WARN", "skipped": "SKIP"}
_ORDER = {"fail": 0, "warning": 1, "skipped": 2, "pass": 3}


def text(run: Mapping[str, Any], version: str | None = None) -> str:
    """The whole report; a run not finished yet says so and stops there."""
    lines = [_title(run, version), *_facts(run), ""]
    if run["status"] != "completed":
        lines.append(f"Not finished yet: the run is {run['status']}.")
        return "\n".join(lines) + "\n"
    lines.append(f"Verdict: {_verdict(run)}")
    if run.get("summary"):
        lines.append(run["summary"])
    if run.get("error"):
        lines.append(f"Error: {run['error']}")
    lines += ["", *_rules(run.get("rules") or []), *_runtime(run), *_timings(run.get("timings") or {})]
    return "\n".join(lines).rstrip() + "\n"


def _title(run: Mapping[str, Any], version: str | None) -> str:
    build = f"build {version} ({run['build_id']})" if version else f"build {run['build_id']}"
    return f"Validation run {run['id']} of {build}"


def _facts(run: Mapping[str, Any]) -> list[str]:
    facts = [f"Trigger: {run['trigger']}", f"Status: {run['status']}", f"Requested: {run['requested_at']}"]
    if run.get("completed_at"):
        facts.append(f"Completed: {run['completed_at']}")
    if run.get("digest"):
        facts.append(f"Image digest: {run['digest']}")
    return facts


def _verdict(run: Mapping[str, Any]) -> str:
    return {
        "passed": "PASSED: every required rule passed (or was waived).",
        "failed": "FAILED: a required rule failed.",
        "error": "ERROR: the run could not judge the build; nothing was decided by it.",
    }.get(run.get("outcome") or "", "unknown")


def _rules(rules: Sequence[Mapping[str, Any]]) -> list[str]:
    if not rules:
        return ["No rule results."]
    lines = ["Rules:"]
    for rule in sorted(rules, key=lambda r: _ORDER.get(r.get("status", ""), 9)):
        lines += _rule(rule)
    return lines


def _rule(rule: Mapping[str, Any]) -> list[str]:
    mark = _MARKS.get(rule.get("status", ""), "????")
    tags = [t for t in ("required" if rule.get("required") else "", rule.get("phase", "")) if t]
    head = f"[{mark}] {rule['rule']}"
    if rule.get("title"):
        head += f": {rule['title']}"
    if tags:
        head += f" ({', '.join(tags)})"
    lines = [head]
    if rule.get("waived"):
        lines.append(f"    Waived: {rule['waived']}")
    if rule.get("evidence"):
        lines.append(f"    Evidence: {rule['evidence']}")
    if rule.get("status") in ("fail", "warning") and rule.get("suggestion"):
        lines.append(f"    Suggestion: {rule['suggestion']}")
    return lines


def _runtime(run: Mapping[str, Any]) -> list[str]:
    runtime = run.get("runtime") or {}
    if not runtime:
        return []
    reason = f" ({runtime['reason']})" if runtime.get("reason") else ""
    return ["", f"Sandbox: {runtime.get('status', 'unknown')}{reason}"]


def _timings(timings: Mapping[str, float]) -> list[str]:
    if not timings:
        return []
    parts = ", ".join(f"{phase} {seconds:.1f} s" for phase, seconds in timings.items())
    return [f"Timings: {parts}"]
