"""Events the curation service publishes (the catalog follows them for build state)."""

from __future__ import annotations

from uuid import UUID

from hspm.common.events.base import Event


class BuildReviewChanged(Event):
    """A build's review state moved; ``state`` is one of the curation state machine's.

    The catalog mirrors it into ``builds.status``; ``approved`` publishes the build,
    ``deprecated``, ``withdrawn`` and ``recalled`` take it off offer.
    """

    TYPE = "curation.build.review_changed"
    build_id: UUID
    product_id: UUID
    state: str
    reason: str | None = None
    validated: bool = False
