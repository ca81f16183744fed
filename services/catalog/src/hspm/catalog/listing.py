"""The listing rule as SQL text, for every catalog store that filters or flags products.

A product is *listed* once it is published and visible: ``published_at`` and
``visible_at`` set and not in the future. Who may see an unlisted product is a rule of the
products area (``products.service.may_see``); but the stores of two areas (products, and
search's index and facets) must apply the same rule inside their own queries, and no
store may import another area's store. So the fragments live here, beside the areas:
plain strings, no queries, no imports, one definition for every store.
"""

from __future__ import annotations

# Products are aliased ``p``; ``{}`` in LISTED_OR_OWNED becomes the caller's user id.
LISTED = (
    "(p.published_at IS NOT NULL AND p.published_at <= now() "
    "AND p.visible_at IS NOT NULL AND p.visible_at <= now())"
)
LISTED_OR_OWNED = f"({LISTED} OR p.user_id = {{}})"

# The product licenses a product (``p``) is offered under, as one JSON array by license
# name: the copy search keeps from licensing's events, embedded wherever a product renders.
PRODUCT_LICENSES = (
    "(SELECT coalesce(json_agg(json_build_object('id', o.product_license_id, "
    "'license_id', o.license_id, 'name', o.license_name) ORDER BY o.license_name, o.license_id), '[]') "
    "FROM product_license_offers o WHERE o.product_id = p.id)"
)
