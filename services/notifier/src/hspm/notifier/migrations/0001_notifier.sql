-- The notifier's own database: platforms, their agents' keys, instances, the ordered
-- stream of each platform, recall acknowledgements; plus read copies of what deciding
-- "may this customer deploy this build" needs from the catalog and licensing.

-- Read copy of the catalog's products: listed when published and visible_at has come.
CREATE TABLE products (
    id uuid PRIMARY KEY,
    owner_id uuid,
    published boolean NOT NULL DEFAULT false,
    visible_at timestamptz
);

-- Read copy of the catalog's builds, merged from three producers' facts: the image
-- (catalog.build.submitted), the approved digest (curation.build.review_changed) and
-- publication (catalog.build.published/withdrawn). Any may arrive first.
CREATE TABLE builds (
    id uuid PRIMARY KEY,
    product_id uuid NOT NULL,
    version text NOT NULL DEFAULT '',
    registry text,
    repository text,
    tag text,
    image_digest text,
    published boolean NOT NULL DEFAULT false,
    status text NOT NULL DEFAULT 'submitted'
);
CREATE INDEX builds_product ON builds (product_id);

-- Read copy of licensing's offers: a product with any offer needs an entitlement.
CREATE TABLE product_offers (
    product_license_id uuid PRIMARY KEY,
    product_id uuid NOT NULL
);
CREATE INDEX product_offers_product ON product_offers (product_id);

-- Read copy of licensing's entitlements; ended_at is set by revocation or expiry, and
-- a revocation arriving before its grant leaves a row that the grant cannot revive.
CREATE TABLE entitlements (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL,
    product_id uuid NOT NULL,
    valid_from timestamptz,
    valid_until timestamptz,
    ended_at timestamptz
);
CREATE INDEX entitlements_user_product ON entitlements (user_id, product_id);

-- A user's declared runtime environment (spec Platform); names are unique per user.
CREATE TABLE platforms (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL,
    name text NOT NULL,
    public_key text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX platforms_user_name ON platforms (user_id, lower(name));

-- The Ed25519 keys a platform's agents prove possession of; revoked keys are kept.
CREATE TABLE agent_keys (
    id uuid PRIMARY KEY,
    platform_id uuid NOT NULL REFERENCES platforms (id) ON DELETE CASCADE,
    name text NOT NULL DEFAULT '',
    public_key bytea NOT NULL CHECK (length(public_key) = 32),
    fingerprint text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    UNIQUE (platform_id, public_key)
);

-- A build running (or to run) on a platform, naming the approved image by digest.
CREATE TABLE instances (
    id uuid PRIMARY KEY,
    platform_id uuid NOT NULL REFERENCES platforms (id) ON DELETE CASCADE,
    build_id uuid NOT NULL,
    product_id uuid NOT NULL,
    image text NOT NULL,
    desired_state text NOT NULL DEFAULT 'running' CHECK (desired_state IN ('running', 'stopped')),
    reported_state text,
    launch_bindings jsonb NOT NULL DEFAULT '{}',
    errors jsonb NOT NULL DEFAULT '[]',
    deployed_at timestamptz,
    reported_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX instances_platform ON instances (platform_id);
CREATE INDEX instances_product ON instances (product_id);
CREATE INDEX instances_build ON instances (build_id);

-- Each platform's stream position. `next_seq` is taken under the row's lock by the
-- transaction appending an event, so sequence order is commit order and has no gaps.
-- `floor_seq` is the oldest event still kept; `epoch` names the numbering itself.
CREATE TABLE streams (
    platform_id uuid PRIMARY KEY REFERENCES platforms (id) ON DELETE CASCADE,
    epoch text NOT NULL,
    next_seq bigint NOT NULL DEFAULT 1,
    floor_seq bigint NOT NULL DEFAULT 1,
    acked_seq bigint NOT NULL DEFAULT 0
);

-- The stream itself: the spec's envelope per event, numbered per platform.
CREATE TABLE stream_events (
    platform_id uuid NOT NULL REFERENCES streams (platform_id) ON DELETE CASCADE,
    seq bigint NOT NULL,
    resource_type text NOT NULL,
    event_type text NOT NULL,
    message text NOT NULL,
    model jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform_id, seq)
);
CREATE INDEX stream_events_created ON stream_events (created_at);

-- Recalls (curation's critical-update notices) as each platform was told of them.
CREATE TABLE recalls (
    id uuid PRIMARY KEY,
    product_id uuid NOT NULL,
    build_ids uuid[] NOT NULL,
    versions text NOT NULL DEFAULT '',
    severity text NOT NULL,
    reason text NOT NULL DEFAULT '',
    fixed_build_id uuid,
    deadline timestamptz,
    issued_at timestamptz NOT NULL
);
CREATE TABLE recall_notices (
    recall_id uuid NOT NULL REFERENCES recalls (id) ON DELETE CASCADE,
    platform_id uuid NOT NULL REFERENCES platforms (id) ON DELETE CASCADE,
    notified_at timestamptz NOT NULL DEFAULT now(),
    acknowledged_at timestamptz,
    PRIMARY KEY (recall_id, platform_id)
);
CREATE INDEX recall_notices_pending ON recall_notices (notified_at) WHERE acknowledged_at IS NULL;
