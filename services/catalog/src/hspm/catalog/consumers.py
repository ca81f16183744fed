"""Events the catalog follows: identity's user deletions, curation's decisions, licensing's offers."""

from __future__ import annotations

from hspm.catalog.builds.consumers import on_build_review_changed
from hspm.catalog.products.consumers import on_user_deleted
from hspm.catalog.search.consumers import on_license_offered, on_license_withdrawn
from hspm.common.events import curation, identity, licensing
from hspm.common.events.base import Event
from hspm.common.lifecycle import EventHandler

HANDLERS: dict[type[Event], EventHandler] = {
    identity.UserDeleted: on_user_deleted,
    curation.BuildReviewChanged: on_build_review_changed,
    licensing.LicenseOffered: on_license_offered,
    licensing.LicenseWithdrawn: on_license_withdrawn,
}
