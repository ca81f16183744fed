-- Read copy of the catalog's family graph (sub-products), from
-- catalog.product_relation.added/removed: an entitlement to a product covers its
-- children, transitively, as licensing's runtime check decides. The catalog refuses
-- cycles, but a copy assembled from events in any order never relies on that.
CREATE TABLE product_parents (
    child_id uuid NOT NULL,
    parent_id uuid NOT NULL,
    PRIMARY KEY (child_id, parent_id)
);
CREATE INDEX product_parents_parent ON product_parents (parent_id);
