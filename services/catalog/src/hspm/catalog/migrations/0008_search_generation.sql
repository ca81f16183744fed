-- The search generation: a counter that every transaction changing what a search can
-- return adds one to, in that transaction. Each catalog replica caches search results
-- under the generation its statement read (search/service.py); a result is reused only
-- while the counter still reads the same, so a cached page is exactly what the search
-- would return now.
--
-- Why this is exact: the search statement reads the counter and the data in one snapshot,
-- and a change and its increment commit together, so one counter value stands for one set
-- of committed changes. The increment runs at commit (a deferred constraint trigger), once
-- per transaction: the row's lock is held only for the commit itself, after every other
-- lock the transaction takes, so writers queue briefly there and cannot deadlock on it.
CREATE TABLE search_generation (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    n bigint NOT NULL
);
INSERT INTO search_generation (n) VALUES (0);

CREATE FUNCTION search_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Once per transaction: the setting is local to it and names it.
    IF current_setting('hspm.search_changed', true) IS DISTINCT FROM txid_current()::text THEN
        PERFORM set_config('hspm.search_changed', txid_current()::text, true);
        UPDATE search_generation SET n = n + 1;
    END IF;
    RETURN NULL;
END
$$;

-- Everything a search reads or renders: products and their visibility, badges and their
-- awards, interfaces and the published-build counts per product, the license offers copy.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['products', 'badges', 'badge_awards', 'interfaces',
                             'product_interfaces', 'product_license_offers'] LOOP
        EXECUTE format(
            'CREATE CONSTRAINT TRIGGER search_changed AFTER INSERT OR UPDATE OR DELETE ON %I '
            'DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION search_changed()', t);
        -- TRUNCATE fires no row trigger; a statement trigger counts it at once.
        EXECUTE format(
            'CREATE TRIGGER search_truncated AFTER TRUNCATE ON %I '
            'FOR EACH STATEMENT EXECUTE FUNCTION search_changed()', t);
    END LOOP;
END
$$;

-- Time changes results too: a product scheduled to be published or shown later joins
-- them when its moment comes, with no write. A cached result is kept only until the
-- earliest such moment, found with these two.
CREATE INDEX products_published_at ON products (published_at);
CREATE INDEX products_visible_at ON products (visible_at);
