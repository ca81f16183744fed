-- Issue 9: builds pinned to the digest curation validated, and retired builds off the market.

-- True when image_digest was written by curation's review (the validated manifest
-- digest), false when the owner declared it. A resubmission drops a pinned digest so the
-- validator resolves the tag again; a declared one stays.
ALTER TABLE builds ADD COLUMN image_digest_pinned boolean NOT NULL DEFAULT false;

-- A withdrawn or recalled build keeps published_at (its history), but is no longer
-- offered: an exposure counts as published only while its build is offered, so search's
-- interface filters and facets drop it too.
CREATE OR REPLACE FUNCTION exposures_fill() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT b.product_id, b.published_at IS NOT NULL AND b.status NOT IN ('withdrawn', 'recalled')
    INTO NEW.product_id, NEW.published
    FROM builds b WHERE b.id = NEW.build_id;
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION builds_publication() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE exposures SET published = NEW.published_at IS NOT NULL AND NEW.status NOT IN ('withdrawn', 'recalled')
    WHERE build_id = NEW.id;
    RETURN NULL;
END $$;

DROP TRIGGER builds_publication ON builds;
CREATE TRIGGER builds_publication AFTER UPDATE OF published_at, status ON builds
    FOR EACH ROW WHEN (
        (OLD.published_at IS NOT NULL AND OLD.status NOT IN ('withdrawn', 'recalled'))
        IS DISTINCT FROM (NEW.published_at IS NOT NULL AND NEW.status NOT IN ('withdrawn', 'recalled'))
    )
    EXECUTE FUNCTION builds_publication();

-- Builds retired before this migration: their exposures stop counting (the exposures
-- trigger moves product_interfaces' counts).
UPDATE exposures e SET published = false
FROM builds b
WHERE b.id = e.build_id AND e.published AND b.status IN ('withdrawn', 'recalled');
