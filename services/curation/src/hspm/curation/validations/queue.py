"""The fair validation queue's rules (pure): priorities, whose turn a run is, the limits.

A requested run waits in curation's table and is released to the validator (its
``ValidationRequested`` written to the outbox) only while fewer than ``max_in_flight``
released runs have no report. Releases go by priority (submissions, then scheduled
re-validations, then manual runs and dry runs), and within one priority round-robin
over the runs' fair keys: each key's n-th waiting run counts as its turn n plus the
key's runs already in flight, and on the same turn the key served least recently goes
first, so one requester's flood waits behind everyone else's next run. Manual runs and
dry runs are also capped per requester and per product while open; one more is refused
with 429 and ``Retry-After``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from uuid import UUID

from hspm.common.errors import TooManyRequests

Trigger = Literal["submission", "manual", "scheduled", "dry_run"]

# Lower goes first. Submissions are the ISVs' path to publication and the operators'
# queue; re-validation protects what is on offer; evaluations and dry runs wait.
PRIORITY: dict[Trigger, int] = {"submission": 0, "scheduled": 1, "manual": 2, "dry_run": 2}
# Triggers a person asks for: the ones the per-requester and per-product caps count.
ON_REQUEST: frozenset[Trigger] = frozenset({"manual", "dry_run"})


@dataclass(frozen=True)
class Limits:
    """The queue's limits (from the settings, stored in ``validation_queue``)."""

    max_in_flight: int = 8
    max_open_per_requester: int = 3
    max_open_per_product: int = 10
    retry_after_seconds: int = 60


class QueueFull(TooManyRequests):
    """A requester or a product has as many open runs as allowed; retry later."""

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.retry_after = retry_after


def fair_key(trigger: Trigger, requester: UUID | None, owner: UUID | None) -> UUID | None:
    """Whose turn a run takes: the person who asked, or the product's owner for the system's runs."""
    if trigger in ON_REQUEST and requester is not None:
        return requester
    return owner


def refusal(limits: Limits, by_requester: int, by_product: int) -> QueueFull | None:
    """The 429 for one more open run, given the open ones counted; None when it fits."""
    if by_requester >= limits.max_open_per_requester:
        return QueueFull(
            f"You have {by_requester} validation runs open (at most {limits.max_open_per_requester}); "
            "retry when one has finished.",
            limits.retry_after_seconds,
        )
    if by_product >= limits.max_open_per_product:
        return QueueFull(
            f"This product has {by_product} validation runs open on request "
            f"(at most {limits.max_open_per_product}); retry when one has finished.",
            limits.retry_after_seconds,
        )
    return None
