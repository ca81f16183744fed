"""Events licensing follows: the catalog's products and families, identity's users and groups."""

from __future__ import annotations

from hspm.common.events import catalog, identity
from hspm.common.events.base import Event
from hspm.common.lifecycle import EventHandler
from hspm.licensing.directory import consumers as directory
from hspm.licensing.entitlements import consumers as entitlements
from hspm.licensing.offers import consumers as offers

HANDLERS: dict[type[Event], EventHandler] = {
    catalog.ProductCreated: directory.on_product_owned,
    catalog.ProductUpdated: directory.on_product_owned,
    catalog.ProductRelationAdded: directory.on_relation_added,
    catalog.ProductRelationRemoved: directory.on_relation_removed,
    identity.UserCreated: directory.on_user_created,
    identity.MembershipChanged: directory.on_membership_changed,
    identity.UserDeleted: entitlements.on_user_deleted,
    identity.GroupDeleted: entitlements.on_group_deleted,
    catalog.ProductDeleted: offers.on_product_deleted,
}
