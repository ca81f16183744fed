-- Indexes for the product index, search and facets (search/store.py).

-- The badge filter and facet start from the badge; (badge_id, product_id) is unique
-- already, but its index leads with badge_id only through this one.
CREATE INDEX badge_awards_badge ON badge_awards (badge_id, product_id);
