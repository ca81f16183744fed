-- The license offers copy, kept from licensing's events (search/consumers.py).
--
-- product_license_id: which product license a row stands for, so a product's embedded
-- product_licenses link to licensing's record, and a withdrawal removes only its own
-- offer (not a later one of the same license). NULL only in rows written by hand
-- (fixtures, benches), never in rows kept from events.
-- offered_at: occurred_at of the last LicenseOffered applied. Messages can arrive out of
-- order (a requeued one overtakes the next), so an older offer never overwrites a newer.
ALTER TABLE product_license_offers
    ADD COLUMN product_license_id uuid,
    ADD COLUMN offered_at timestamptz;

-- Product licenses licensing has withdrawn. An id is never offered again once withdrawn,
-- so a LicenseOffered delivered after its own LicenseWithdrawn is recognised and ignored
-- instead of bringing back an offer that no longer exists.
CREATE TABLE withdrawn_product_licenses (
    product_license_id uuid PRIMARY KEY,
    withdrawn_at timestamptz NOT NULL DEFAULT now()
);
