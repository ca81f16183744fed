"""Events curation follows: the catalog's products and builds, the validator's runs."""

from __future__ import annotations

from hspm.common.events import catalog, validator
from hspm.common.events.base import Event
from hspm.common.lifecycle import EventHandler
from hspm.curation.catalog_copy import consumers as copy
from hspm.curation.reviews import consumers as reviews
from hspm.curation.validations import consumers as validations

HANDLERS: dict[type[Event], EventHandler] = {
    catalog.ProductCreated: copy.on_product_owned,
    catalog.ProductUpdated: copy.on_product_owned,
    catalog.ProductPublished: copy.on_product_published,
    catalog.ProductUnpublished: copy.on_product_unpublished,
    catalog.ProductDeleted: reviews.on_product_deleted,
    catalog.BuildSubmitted: reviews.on_build_submitted,
    catalog.BuildDraftChanged: reviews.on_build_draft_changed,
    catalog.BuildPublished: reviews.on_build_published,
    catalog.BuildWithdrawn: copy.on_build_withdrawn,
    catalog.BuildDeleted: reviews.on_build_deleted,
    validator.ValidationStarted: validations.on_validation_started,
    validator.ValidationCompleted: reviews.on_validation_completed,
}
