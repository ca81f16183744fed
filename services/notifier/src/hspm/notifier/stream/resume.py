"""Where a reconnecting agent continues: the whole rule, without a database.

A position is (epoch, seq). Recovery is all or nothing (as Centrifugo's): an agent is
replayed from its position only when every later event is still kept; otherwise it is
told to resync from the full state, never handed a stream with a hole in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Decision = Literal["replay", "resync"]


@dataclass(frozen=True)
class Head:
    """A stream as it stands: its epoch, last sequence number and oldest kept one."""

    epoch: str
    head: int
    floor: int


@dataclass(frozen=True)
class Resume:
    decision: Decision
    after: int
    reason: str = ""


def decide(stream: Head, epoch: str | None, after: int | None, max_lag: int) -> Resume:
    """Replay after ``after`` when the agent's position is in this stream's kept history."""
    if epoch is None or after is None:
        return Resume("resync", stream.head, "no position")
    if epoch != stream.epoch:
        return Resume("resync", stream.head, "epoch changed")
    if after > stream.head:
        # Ahead of the head: a position from another numbering, not to be trusted.
        return Resume("resync", stream.head, "position ahead of the stream")
    if after < stream.floor - 1:
        return Resume("resync", stream.head, "history pruned")
    if stream.head - after > max_lag:
        return Resume("resync", stream.head, "too far behind")
    return Resume("replay", after)
