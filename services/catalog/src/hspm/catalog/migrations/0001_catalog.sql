-- The catalog: products, builds and everything that describes how to run them.

CREATE TABLE products (
    id uuid PRIMARY KEY,
    -- The owning user (identity's id; no foreign key across databases).
    user_id uuid NOT NULL,
    name text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    description text NOT NULL DEFAULT '',
    uri text,
    support_url text,
    mime_type text,
    locale text,
    external_id text,
    published_at timestamptz,
    visible_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', coalesce(name, '')), 'A') ||
        setweight(to_tsvector('english', coalesce(description, '')), 'B')
    ) STORED
);
CREATE INDEX products_search ON products USING gin (search);
CREATE INDEX products_user ON products (user_id);
CREATE INDEX products_mime_type ON products (mime_type);
CREATE INDEX products_listed ON products (lower(name)) WHERE published_at IS NOT NULL AND visible_at IS NOT NULL;

-- Logos and screenshots, stored with their resized variants.
CREATE TABLE images (
    id uuid PRIMARY KEY,
    product_id uuid NOT NULL REFERENCES products ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('logo', 'screenshot')),
    caption text,
    content_type text NOT NULL,
    width integer NOT NULL,
    height integer NOT NULL,
    original bytea NOT NULL,
    small bytea NOT NULL,
    medium bytea NOT NULL,
    large bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX images_one_logo ON images (product_id) WHERE kind = 'logo';
CREATE UNIQUE INDEX images_caption ON images (product_id, caption) WHERE kind = 'screenshot';

CREATE TABLE badges (
    id uuid PRIMARY KEY,
    name text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    description text NOT NULL CHECK (length(description) >= 1),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE badge_awards (
    id uuid PRIMARY KEY,
    badge_id uuid NOT NULL REFERENCES badges ON DELETE CASCADE,
    product_id uuid NOT NULL REFERENCES products ON DELETE CASCADE,
    awarded_by uuid,
    reason text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (badge_id, product_id)
);
CREATE INDEX badge_awards_product ON badge_awards (product_id);

CREATE TABLE sub_products (
    id uuid PRIMARY KEY,
    parent_id uuid NOT NULL REFERENCES products ON DELETE CASCADE,
    child_id uuid NOT NULL REFERENCES products ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (parent_id, child_id),
    CHECK (parent_id <> child_id)
);
CREATE INDEX sub_products_child ON sub_products (child_id);

-- Which licenses a product is offered under: a read copy kept from licensing's events,
-- so the catalog can filter and facet by license without asking.
CREATE TABLE product_license_offers (
    product_id uuid NOT NULL REFERENCES products ON DELETE CASCADE,
    license_id uuid NOT NULL,
    license_name text NOT NULL DEFAULT '',
    PRIMARY KEY (product_id, license_id)
);
CREATE INDEX product_license_offers_license ON product_license_offers (license_id);

CREATE TABLE interfaces (
    id uuid PRIMARY KEY,
    name text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    uri text NOT NULL UNIQUE CHECK (length(uri) BETWEEN 1 AND 2000),
    version text NOT NULL CHECK (length(version) BETWEEN 1 AND 100),
    ordinal integer,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE surrogates (
    id uuid PRIMARY KEY,
    interface_id uuid NOT NULL REFERENCES interfaces ON DELETE CASCADE,
    substitute_id uuid NOT NULL REFERENCES interfaces ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (interface_id, substitute_id),
    CHECK (interface_id <> substitute_id)
);

CREATE TABLE builds (
    id uuid PRIMARY KEY,
    product_id uuid NOT NULL REFERENCES products ON DELETE CASCADE,
    version text NOT NULL CHECK (length(version) BETWEEN 1 AND 100),
    -- SemVer precedence as sortable parts: numbers, then release before pre-release.
    version_core bigint[] NOT NULL DEFAULT '{}',
    version_pre text,
    ordinal integer,
    software_version text,
    container_registry text,
    container_repository text,
    container_tag text,
    image_digest text CHECK (image_digest IS NULL OR image_digest ~ '^sha256:[0-9a-f]{64}$'),
    release_notes text NOT NULL DEFAULT '',
    permissions jsonb NOT NULL DEFAULT '{}',
    -- Set only by curation's decisions, never by a client.
    -- draft while its packaging is assembled; submit hands it to curation. After that only
    -- curation's decisions (events) move it: submitted, validating, awaiting_review,
    -- rejected, approved, published, deprecated, withdrawn, recalled.
    status text NOT NULL DEFAULT 'draft',
    status_reason text,
    validated_at timestamptz,
    published_at timestamptz,
    withdrawn_at timestamptz,
    asset bytea,
    asset_name text,
    asset_content_type text,
    asset_sha256 text,
    -- The submitted marketplace.json exactly as received, and its canonical form.
    marketplace_raw bytea,
    marketplace_canonical bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (product_id, version)
);
CREATE INDEX builds_order ON builds (product_id, version_core DESC, (version_pre IS NULL) DESC, version_pre DESC);
CREATE INDEX builds_published ON builds (product_id) WHERE published_at IS NOT NULL;

CREATE TABLE configurations (
    id uuid PRIMARY KEY,
    build_id uuid NOT NULL REFERENCES builds ON DELETE CASCADE,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    "default" boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (build_id, name)
);
CREATE UNIQUE INDEX configurations_one_default ON configurations (build_id) WHERE "default";

CREATE TABLE tasks (
    id uuid PRIMARY KEY,
    configuration_id uuid NOT NULL REFERENCES configurations ON DELETE CASCADE,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    memory_minimum integer CHECK (memory_minimum IS NULL OR memory_minimum >= 1),
    memory_maximum integer CHECK (memory_maximum IS NULL OR memory_maximum >= 1),
    instances_minimum integer NOT NULL DEFAULT 0 CHECK (instances_minimum >= 0),
    instances_maximum integer CHECK (instances_maximum IS NULL OR instances_maximum >= 0),
    options text[] NOT NULL DEFAULT '{}',
    ports integer[] NOT NULL DEFAULT '{}',
    cron text,
    -- [{key, description, required, default, pattern}], keys ^[A-Z0-9_]+$.
    environment jsonb NOT NULL DEFAULT '[]',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (configuration_id, name),
    CHECK (memory_minimum IS NULL OR memory_maximum IS NULL OR memory_minimum <= memory_maximum),
    CHECK (instances_maximum IS NULL OR instances_maximum = 0 OR instances_minimum <= instances_maximum)
);

CREATE TABLE exposures (
    id uuid PRIMARY KEY,
    build_id uuid NOT NULL REFERENCES builds ON DELETE CASCADE,
    interface_id uuid NOT NULL REFERENCES interfaces ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (build_id, interface_id)
);
CREATE INDEX exposures_interface ON exposures (interface_id);

CREATE TABLE parameters (
    id uuid PRIMARY KEY,
    exposure_id uuid NOT NULL REFERENCES exposures ON DELETE CASCADE,
    name text NOT NULL CHECK (name ~ '^[A-Z0-9_]+$'),
    required boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (exposure_id, name)
);

-- A build needs an interface, or a product (optionally pinned to some of its builds).
CREATE TABLE dependencies (
    id uuid PRIMARY KEY,
    build_id uuid NOT NULL REFERENCES builds ON DELETE CASCADE,
    interface_id uuid REFERENCES interfaces ON DELETE CASCADE,
    product_id uuid,
    build_ids uuid[] NOT NULL DEFAULT '{}',
    name text,
    required boolean NOT NULL DEFAULT true,
    mappings jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (interface_id IS NOT NULL OR product_id IS NOT NULL)
);
CREATE INDEX dependencies_build ON dependencies (build_id);
