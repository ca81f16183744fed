-- Device sign-in for the command line (in the spirit of RFC 8628): the CLI asks for a
-- device code and a short user code, a signed-in person approves the user code in the
-- browser, and the CLI's polling trades the device code for a session of that person.
-- Both codes are stored as their SHA-256 only; a row lives until it is redeemed, denied
-- and reported, or expired (each new request sweeps the stale ones).
CREATE TABLE device_authorizations (
    device_hash bytea PRIMARY KEY,
    user_code_hash bytea NOT NULL UNIQUE,
    client_name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    -- Polling is bounded: a poll sooner than interval_seconds after the last one is told
    -- to slow down, and the interval grows by 5 s each time (RFC 8628 §3.5).
    interval_seconds integer NOT NULL,
    last_polled_at timestamptz,
    -- The decision: NULL while pending; true approved, false denied.
    approved boolean,
    decided_at timestamptz,
    approver_id uuid REFERENCES users ON DELETE CASCADE,
    approver_identity_id uuid REFERENCES identities ON DELETE SET NULL,
    CHECK ((approved IS NULL) = (decided_at IS NULL)),
    CHECK (approved IS NOT TRUE OR approver_id IS NOT NULL)
);
CREATE INDEX device_authorizations_expiry ON device_authorizations (expires_at);
