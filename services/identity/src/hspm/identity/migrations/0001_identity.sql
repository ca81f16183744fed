-- Users, their identities at identity providers, groups, roles and appointments.
CREATE TABLE users (
    id uuid PRIMARY KEY,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    external_id text,
    salutation text,
    first_name text,
    middle_name text,
    last_name text,
    email text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX users_name ON users (lower(name) text_pattern_ops);
CREATE INDEX users_external_id ON users (external_id);

CREATE TABLE identity_providers (
    id uuid PRIMARY KEY,
    name text NOT NULL UNIQUE,
    issuer text NOT NULL UNIQUE,
    client_id text NOT NULL,
    client_secret text NOT NULL,
    alternate_client_id text,
    scopes text NOT NULL DEFAULT 'openid email profile',
    configuration jsonb,
    public_keys jsonb,
    refreshed_at timestamptz,
    enabled_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE identities (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    identity_provider_id uuid NOT NULL REFERENCES identity_providers ON DELETE CASCADE,
    sub text NOT NULL,
    iat timestamptz,
    hd text,
    locale text,
    email text,
    jwt jsonb NOT NULL DEFAULT '{}',
    notify_via_email boolean NOT NULL DEFAULT false,
    notify_via_sms boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (identity_provider_id, sub)
);
CREATE INDEX identities_user ON identities (user_id);

CREATE TABLE groups (
    id uuid PRIMARY KEY,
    name text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    description text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE members (
    id uuid PRIMARY KEY,
    group_id uuid NOT NULL REFERENCES groups ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (group_id, user_id)
);
CREATE INDEX members_user ON members (user_id);

CREATE TABLE roles (
    id uuid PRIMARY KEY,
    name text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    description text,
    "default" boolean NOT NULL DEFAULT false,
    permissions jsonb NOT NULL DEFAULT '{}',
    builtin boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- The spec's polymorphic appointment (entity_type User|Group) as two real foreign keys,
-- so deleting a user or group cascades without application code.
CREATE TABLE appointments (
    id uuid PRIMARY KEY,
    role_id uuid NOT NULL REFERENCES roles ON DELETE CASCADE,
    user_id uuid REFERENCES users ON DELETE CASCADE,
    group_id uuid REFERENCES groups ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (num_nonnulls(user_id, group_id) = 1),
    UNIQUE (role_id, user_id),
    UNIQUE (role_id, group_id)
);
CREATE INDEX appointments_user ON appointments (user_id);
CREATE INDEX appointments_group ON appointments (group_id);

-- The server-side record behind every token the Marketplace issues (the spec's
-- JsonWebToken): browser sessions and API tokens alike, so both can be revoked.
CREATE TABLE sessions (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    identity_id uuid REFERENCES identities ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('session', 'api')),
    name text,
    scopes text[],
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX sessions_user ON sessions (user_id);

-- One row per login in flight: the state, nonce and PKCE verifier of an OIDC redirect.
CREATE TABLE oidc_logins (
    state text PRIMARY KEY,
    identity_provider_id uuid NOT NULL REFERENCES identity_providers ON DELETE CASCADE,
    nonce text NOT NULL,
    code_verifier text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Built-in roles for the personas; fixed ids so seeds and docs can name them.
INSERT INTO roles (id, name, description, "default", builtin, permissions) VALUES
('00000000-0000-4000-8000-000000000001', 'Administrator',
 'Operates the marketplace: every permission.', false, true,
 '{"everything": {"manage": true}}'),
('00000000-0000-4000-8000-000000000002', 'Operator',
 'Curates the catalog: reviews, publishes and recalls builds, awards badges.', false, true,
 '{"products": {"create": true, "read": true, "update": true, "delete": true, "publish": true},
   "builds": {"create": true, "read": true, "update": true, "delete": true, "validate": true},
   "badges": {"create": true, "read": true, "update": true, "delete": true, "award": true},
   "interfaces": {"create": true, "read": true, "update": true, "delete": true},
   "sub_products": {"create": true, "read": true, "update": true, "delete": true},
   "licenses": {"create": true, "read": true, "update": true, "delete": true},
   "product_licenses": {"create": true, "read": true, "update": true, "delete": true},
   "reviews": {"read": true, "update": true},
   "validations": {"create": true, "read": true},
   "recalls": {"create": true, "read": true},
   "users": {"read": true}, "groups": {"read": true}, "attempts": {"read": true}}'),
('00000000-0000-4000-8000-000000000003', 'ISV',
 'Publishes products and submits builds; owner rights cover the rest.', false, true,
 '{"products": {"create": true}, "validations": {"create": true}}'),
('00000000-0000-4000-8000-000000000004', 'Customer',
 'Every signed-in user: manages own platforms and instances, evaluates builds.', true, true,
 '{"users": {"read_self": true, "update_self": true}, "validations": {"create": true}}'),
('00000000-0000-4000-8000-000000000005', 'Auditor',
 'Reads licensed-usage records, reviews and decisions; changes nothing.', false, true,
 '{"attempts": {"read": true}, "claims": {"read": true}, "entitlements": {"read": true},
   "licenses": {"read": true}, "product_licenses": {"read": true}, "users": {"read": true},
   "groups": {"read": true}, "products": {"read": true}, "reviews": {"read": true},
   "validations": {"read": true}, "recalls": {"read": true}}');
