"""Events the notifier follows: the catalog's products, their family and builds,
curation's reviews and recalls, licensing's offers and entitlements."""

from __future__ import annotations

from hspm.common.events import catalog, curation, licensing
from hspm.common.events.base import Event
from hspm.common.lifecycle import EventHandler
from hspm.notifier.directory import consumers as directory
from hspm.notifier.notices import consumers as notices

HANDLERS: dict[type[Event], EventHandler] = {
    catalog.ProductCreated: directory.on_product_owned,
    catalog.ProductUpdated: directory.on_product_owned,
    catalog.ProductPublished: directory.on_product_published,
    catalog.ProductUnpublished: directory.on_product_unpublished,
    catalog.ProductDeleted: directory.on_product_deleted,
    catalog.ProductRelationAdded: directory.on_relation_added,
    catalog.ProductRelationRemoved: directory.on_relation_removed,
    catalog.BuildSubmitted: directory.on_build_submitted,
    curation.BuildReviewChanged: directory.on_review_changed,
    catalog.BuildDeleted: directory.on_build_deleted,
    licensing.LicenseOffered: directory.on_license_offered,
    licensing.LicenseWithdrawn: directory.on_license_withdrawn,
    catalog.BuildPublished: notices.on_build_published,
    catalog.BuildWithdrawn: notices.on_build_withdrawn,
    licensing.EntitlementGranted: notices.on_entitlement_granted,
    licensing.EntitlementRevoked: notices.on_entitlement_revoked,
    licensing.EntitlementExpired: notices.on_entitlement_expired,
    curation.RecallIssued: notices.on_recall_issued,
}
