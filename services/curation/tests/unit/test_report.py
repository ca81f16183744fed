"""The text report of a run."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from hspm.curation.validations import report


def _run(**kw):
    base = {
        "id": uuid4(),
        "build_id": uuid4(),
        "trigger": "manual",
        "status": "completed",
        "outcome": "failed",
        "requested_at": datetime(2026, 1, 1, tzinfo=UTC),
        "completed_at": datetime(2026, 1, 1, 0, 1, tzinfo=UTC),
        "digest": "sha256:" + "c" * 64,
        "summary": "1 of 3 required rules failed.",
        "error": None,
        "rules": [
            {"rule": "image.size", "title": "Small", "phase": "static", "status": "pass", "required": True},
            {
                "rule": "runtime.healthy",
                "title": "Healthy",
                "phase": "runtime",
                "status": "fail",
                "required": True,
                "evidence": "no answer on /health after 30 s",
                "suggestion": "Declare a HEALTHCHECK.",
            },
            {
                "rule": "user.non_root",
                "title": "Non-root",
                "phase": "static",
                "status": "fail",
                "waived": "vendor base image",
                "suggestion": "Add USER 1000.",
            },
        ],
        "runtime": {"status": "ran", "reason": None},
        "timings": {"pull": 1.25, "total": 9.5},
    }
    return base | kw


def test_a_failed_run() -> None:
    text = report.text(_run(), "1.2.3")
    assert text.startswith("Validation run ") and "of build 1.2.3 (" in text
    assert "Verdict: FAILED" in text and "1 of 3 required rules failed." in text
    lines = text.splitlines()
    failed = lines.index("[FAIL] runtime.healthy: Healthy (required, runtime)")
    assert lines[failed + 1] == "    Evidence: no answer on /health after 30 s"
    assert lines[failed + 2] == "    Suggestion: Declare a HEALTHCHECK."
    assert "    Waived: vendor base image" in lines
    assert lines.index("[PASS] image.size: Small (required, static)") > failed  # failures first
    assert "Sandbox: ran" in lines and "Timings: pull 1.2 s, total 9.5 s" in lines
    assert f"Image digest: sha256:{'c' * 64}" in lines


def test_an_unfinished_run() -> None:
    text = report.text(_run(status="running", outcome=None, completed_at=None, rules=[]))
    assert "Not finished yet: the run is running." in text and "Verdict" not in text


def test_a_broken_run() -> None:
    text = report.text(
        _run(outcome="error", error="registry unreachable", rules=[], runtime=None, timings={})
    )
    assert "Verdict: ERROR" in text and "Error: registry unreachable" in text and "No rule results." in text
