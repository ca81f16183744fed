-- The licensing service's own database: licenses, what products are offered under them,
-- who holds them (entitlements), who uses them (claims), vouchers and every check made
-- (attempts); plus read copies of what the check needs from other services.

-- Usage terms, independent of any product (spec 4.1). `uses` is a limit on successful
-- checks per entitlement; 0 means unlimited.
CREATE TABLE licenses (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    description text NOT NULL DEFAULT '',
    url text NOT NULL,
    expiry text NOT NULL DEFAULT 'indefinite'
        CHECK (expiry IN ('indefinite', 'relative_date', 'absolute_date')),
    expires_at timestamptz,
    days_valid integer NOT NULL DEFAULT 0 CHECK (days_valid >= 0),
    uses integer NOT NULL DEFAULT 0 CHECK (uses >= 0),
    external_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (expiry <> 'absolute_date' OR expires_at IS NOT NULL)
);
CREATE UNIQUE INDEX licenses_name ON licenses (lower(name));
CREATE UNIQUE INDEX licenses_url ON licenses (url);

-- Read copy of the catalog's products: owner (the ISV's rights) and name, from
-- catalog.product.created/updated/deleted.
CREATE TABLE products (
    id uuid PRIMARY KEY,
    owner_id uuid NOT NULL,
    name text NOT NULL DEFAULT ''
);
CREATE INDEX products_owner ON products (owner_id);

-- Read copy of the family graph (sub-products): an entitlement to a parent covers its
-- children, transitively. Kept from catalog.product_relation.added/removed; it may hold
-- cycles (the catalog refuses them, but a read copy never trusts that).
CREATE TABLE product_parents (
    child_id uuid NOT NULL,
    parent_id uuid NOT NULL,
    PRIMARY KEY (child_id, parent_id)
);

-- Read copy of identity's users (404 on checks for unknown users) and group memberships
-- (group claims), from identity.user.* and identity.membership.changed.
CREATE TABLE users (
    id uuid PRIMARY KEY
);
CREATE TABLE memberships (
    user_id uuid NOT NULL,
    group_id uuid NOT NULL,
    PRIMARY KEY (user_id, group_id)
);
CREATE INDEX memberships_group ON memberships (group_id);

-- A product offered under a license (spec ProductLicense).
CREATE TABLE product_licenses (
    id uuid PRIMARY KEY,
    product_id uuid NOT NULL,
    license_id uuid NOT NULL REFERENCES licenses (id) ON DELETE CASCADE,
    external_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (product_id, license_id)
);
CREATE INDEX product_licenses_license ON product_licenses (license_id);

-- One user's acquired product license. `uses_count` is the successful checks counted
-- against the license's `uses` limit, across all of the entitlement's claims; it is
-- incremented by one conditional UPDATE, so concurrent checks never exceed the limit.
CREATE TABLE entitlements (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL,
    product_license_id uuid NOT NULL REFERENCES product_licenses (id) ON DELETE CASCADE,
    valid_from timestamptz NOT NULL DEFAULT now(),
    source text NOT NULL DEFAULT 'staff' CHECK (source IN ('staff', 'isv', 'voucher')),
    granted_by uuid,
    uses_count integer NOT NULL DEFAULT 0 CHECK (uses_count >= 0),
    -- Set once the expiry sweep has announced licensing.entitlement.expired.
    expired_at timestamptz,
    -- Revoked (DELETE /entitlements/:id): kept, not deleted, so offline documents issued
    -- for it can be listed as revoked until they would have expired anyway.
    revoked_at timestamptz,
    external_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX entitlements_user ON entitlements (user_id);
CREATE INDEX entitlements_product_license ON entitlements (product_license_id);

-- A user's or group's use of an entitlement (spec Claim).
CREATE TABLE claims (
    id uuid PRIMARY KEY,
    entitlement_id uuid NOT NULL REFERENCES entitlements (id) ON DELETE CASCADE,
    claimant_type text NOT NULL CHECK (claimant_type IN ('User', 'Group')),
    claimant_id uuid NOT NULL,
    authorization_count integer NOT NULL DEFAULT 0,
    authorized_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (entitlement_id, claimant_type, claimant_id)
);
CREATE INDEX claims_claimant ON claims (claimant_type, claimant_id);

-- A human-readable code bound to one product license; redeeming it creates an
-- entitlement. Single use: `redeemed_at IS NULL` in the redeeming UPDATE decides.
CREATE TABLE vouchers (
    id uuid PRIMARY KEY,
    product_license_id uuid NOT NULL REFERENCES product_licenses (id) ON DELETE CASCADE,
    entitlement_id uuid REFERENCES entitlements (id) ON DELETE SET NULL,
    code text NOT NULL,
    issued_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz,
    redeemed_at timestamptz,
    redeemed_by uuid,
    issued_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- Codes compare without case, spaces or dashes (what people type); stored normalized.
CREATE UNIQUE INDEX vouchers_code ON vouchers (code);
CREATE INDEX vouchers_product_license ON vouchers (product_license_id);

-- Every runtime check, granted or not (spec Attempt). Append-only; reports read it.
-- `address` and `platform_id` feed account-sharing detection.
CREATE TABLE attempts (
    id uuid PRIMARY KEY,
    product_id uuid NOT NULL,
    claimant_type text NOT NULL CHECK (claimant_type IN ('User', 'Group')),
    claimant_id uuid NOT NULL,
    claim_id uuid,
    entitlement_id uuid,
    granted boolean NOT NULL,
    -- 'granted', 'not_found' (404), 'no_entitlement' (422)
    outcome text NOT NULL,
    address text,
    platform_id uuid,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX attempts_created ON attempts (created_at DESC, id DESC);
CREATE INDEX attempts_product ON attempts (product_id, created_at);
CREATE INDEX attempts_claim ON attempts (claim_id, created_at) WHERE claim_id IS NOT NULL;
