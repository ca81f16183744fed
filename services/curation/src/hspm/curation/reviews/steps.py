"""One step of a review case: where it goes, who moved it, the label and why.

Every step becomes one provenance entry; a step to the state the case is already in
is a note (a re-validation's verdict on a build on offer).
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from hspm.curation.actors import Actor
from hspm.curation.machine import State


@dataclass(frozen=True)
class Step:
    to: State
    actor: Actor
    event: str
    remark: str | None = None
    run_id: UUID | None = None
    recall_id: UUID | None = None
    badge_ids: tuple[UUID, ...] = ()
