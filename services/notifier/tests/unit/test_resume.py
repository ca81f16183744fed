"""Where a reconnecting agent continues: replay only from kept history, else resync."""

from __future__ import annotations

import pytest

from hspm.notifier.stream.resume import Head, decide

STREAM = Head(epoch="e1", head=100, floor=51)


@pytest.mark.parametrize(
    ("epoch", "after", "decision", "reason"),
    [
        ("e1", 100, "replay", ""),
        ("e1", 50, "replay", ""),  # the first kept event is 51: nothing missing
        ("e1", 49, "resync", "history pruned"),
        ("e1", 101, "resync", "position ahead of the stream"),
        ("e0", 100, "resync", "epoch changed"),
        (None, None, "resync", "no position"),
        ("e1", None, "resync", "no position"),
    ],
)
def test_decide(epoch, after, decision, reason) -> None:
    resume = decide(STREAM, epoch, after, max_lag=1000)
    assert (resume.decision, resume.reason) == (decision, reason)
    assert resume.after == (after if decision == "replay" else STREAM.head)


def test_too_far_behind_resyncs_even_with_history_kept() -> None:
    assert decide(Head("e", 500, 1), "e", 10, max_lag=100).reason == "too far behind"
    assert decide(Head("e", 500, 1), "e", 400, max_lag=100).decision == "replay"
