"""Following a build: when validation has decided, the exit code, and what is printed."""

from __future__ import annotations

import pytest

from hspm.client.cli.output import Exit
from hspm.client.cli.progress import (
    Snapshot,
    describe,
    document_issues,
    failing_rules,
    failure_report,
    progress_line,
    success_report,
)

DONE = {"status": "completed", "outcome": "failed"}


class TestSettled:
    @pytest.mark.parametrize(
        ("state", "run", "settled"),
        [
            (None, None, False),
            ("submitted", None, False),
            ("validating", {"status": "running"}, False),
            ("awaiting_review", {"status": "running"}, False),
            ("awaiting_review", {"status": "completed"}, True),
            ("awaiting_review", None, True),
            ("auto_rejected", None, False),
            ("auto_rejected", DONE, True),
            ("changes_requested", DONE, True),
        ],
    )
    def test_settled(self, state, run, settled):
        assert Snapshot(state, run).settled is settled

    @pytest.mark.parametrize(
        ("state", "code"),
        [
            ("awaiting_review", Exit.OK),
            ("approved", Exit.OK),
            ("published", Exit.OK),
            ("auto_rejected", Exit.FAILED),
            ("rejected", Exit.FAILED),
        ],
    )
    def test_exit_code(self, state, code):
        assert Snapshot(state, DONE).exit_code == code


RUN = {
    "status": "completed",
    "outcome": "failed",
    "summary": "2 required rules failed.",
    "rules": [
        {"rule": "image.size", "status": "fail", "required": False, "title": "Small"},
        {
            "rule": "runtime.healthy",
            "status": "fail",
            "required": True,
            "title": "Healthy",
            "evidence": "no answer\non /healthz",
            "suggestion": "Answer on /healthz.",
        },
        {"rule": "env.names", "status": "pass", "required": True, "title": "Names"},
        {"rule": "env.secrets", "status": "fail", "required": True, "waived": "accepted", "title": "S"},
    ],
}


class TestReports:
    def test_failing_rules_required_first_waived_left_out(self):
        assert [r["rule"] for r in failing_rules(RUN)] == ["runtime.healthy", "image.size"]

    def test_failure_report_names_the_rules_and_how_to_fix_them(self):
        text = failure_report(Snapshot("auto_rejected", RUN))
        assert "Validation failed: the build's review is auto_rejected." in text
        assert "FAIL runtime.healthy (required): Healthy" in text
        assert "no answer on /healthz" in text and "fix: Answer on /healthz." in text
        assert "FAIL image.size (advisory)" in text and "env.secrets" not in text

    def test_success_report(self):
        assert "Validated (passed)" in success_report(Snapshot("awaiting_review", {"outcome": "passed"}))

    def test_describe_and_the_live_line(self):
        snap = Snapshot("validating", {"status": "running"})
        assert describe(snap) == "validating: run running"
        assert describe(Snapshot(None, None)).startswith("waiting for curation")
        line = progress_line(snap, 12.7, 1)
        assert line.startswith("\r\x1b[K/") and "12s" in line and line.endswith("validating: run running")

    def test_document_issues(self):
        body = {"issues": [{"path": "$.configuration", "message": "is required", "rule": "schema"}]}
        assert document_issues(body) == ["  $.configuration: is required [schema]"]
        assert document_issues({"detail": "x"}) == [] and document_issues("text") == []
