"""Events the catalog follows: identity's user deletions and curation's decisions."""

from __future__ import annotations

from hspm.catalog.builds.consumers import on_build_review_changed
from hspm.catalog.products.consumers import on_user_deleted
from hspm.common.events import curation, identity
from hspm.common.events.base import Event
from hspm.common.lifecycle import EventHandler

HANDLERS: dict[type[Event], EventHandler] = {
    identity.UserDeleted: on_user_deleted,
    curation.BuildReviewChanged: on_build_review_changed,
}
