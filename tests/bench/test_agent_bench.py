"""The agent bench's own parts: reading the agent's log, its summaries, and its rows' verdicts."""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime

import pytest

from bench.agent import (
    Created,
    Recalled,
    Results,
    RoundFailed,
    first_after,
    log_events,
    maximum,
    median,
    reason,
    rows,
)
from bench.table import failed

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp()


def _entry(offset: float, event: str, **fields: str) -> str:
    ts = datetime.fromtimestamp(T0 + offset, UTC).isoformat(timespec="milliseconds")
    body = ", ".join(f'"{k}": "{v}"' for k, v in fields.items())
    return f'{{"ts": "{ts}", "level": "info", "event": "{event}", "logger": "x"' + (
        f", {body}}}" if body else "}"
    )


LOG = "\n".join(
    [
        _entry(0.5, "agent.started"),
        "Traceback (most recent call last):",
        "not json at all {",
        _entry(1.25, "rollout.started", instance_id="a"),
        _entry(1.5, "rollout.started", instance_id="b"),
        _entry(2.75, "rollout.healthy", instance_id="b"),
        '{"event": "no time"}',
        "[1, 2]",
    ]
)


def test_the_agents_json_log_is_read_and_anything_else_skipped() -> None:
    events = log_events(LOG)
    assert [e.event for e in events] == [
        "agent.started",
        "rollout.started",
        "rollout.started",
        "rollout.healthy",
    ]
    assert math.isclose(events[1].ts - T0, 1.25, abs_tol=1e-6)
    assert events[1].fields["instance_id"] == "a"


def test_first_after_finds_the_first_matching_event_since_a_moment() -> None:
    events = log_events(LOG)
    assert math.isclose(first_after(events, "rollout.started", T0) or 0, 1.25, abs_tol=1e-6)
    assert math.isclose(first_after(events, "rollout.started", T0, instance_id="b") or 0, 1.5, abs_tol=1e-6)
    assert math.isclose(first_after(events, "rollout.started", T0 + 1.3) or 0, 0.2, abs_tol=1e-6)
    assert first_after(events, "rollout.healthy", T0, instance_id="a") is None
    assert first_after(events, "rollout.started", T0 + 2) is None
    # A log time is cut to the millisecond: an event in the same millisecond still counts.
    assert first_after(events, "rollout.started", T0 + 1.2504) is not None


def test_summaries_of_no_rounds_are_nan() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0 and maximum([3.0, 1.0, 2.0]) == 3.0
    assert math.isnan(median([])) and math.isnan(maximum([]))


def test_a_failure_is_named_by_its_first_exception() -> None:
    group = ExceptionGroup("two", [RoundFailed("never running within 60 s"), ValueError("x")])
    assert reason(group) == "RoundFailed: never running within 60 s"
    assert reason(TimeoutError()) == "TimeoutError"


def _results(created_errors: Counter[str], recall_errors: Counter[str]) -> Results:
    created = Created(
        bare_running=[0.5, 0.7],
        bare_healthy=[0.6, 0.9],
        running=[1.0, 2.0],
        deployed=[1.5, 3.0],
        errors=created_errors,
    )
    recalled = Recalled(delivered=[0.1, 0.2], acknowledged=[2.0, 4.0], errors=recall_errors)
    return Results(created, recalled, [], [], 0)


def test_rows_carry_medians_maxima_baselines_and_errors() -> None:
    made = rows(_results(Counter(), Counter()))
    assert [r.value for r in made] == pytest.approx([1.5, 2.0, 2.25, 3.0, 3.0, 4.0])
    assert [r.baseline for r in made] == pytest.approx([0.6, 0.7, 0.75, 0.9, 0.15, 0.2])
    assert all(r.met is None for r in made) and not failed(made)
    broken = rows(_results(Counter({"created: boom": 1}), Counter({"recall: gone": 2})))
    assert [r.errors for r in failed(broken)] == [1, 2]
    assert "recall: gone ×2" in failed(broken)[1].statuses
