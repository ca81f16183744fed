-- Login CSRF: a login in flight belongs to the browser that started it. The redirect to
-- the provider sets a short-lived HttpOnly cookie; only its SHA-256 is kept here, and the
-- callback must present the cookie. Logins started before this migration have none and
-- can no longer finish (they expire within minutes anyway; the user starts again).
ALTER TABLE oidc_logins ADD COLUMN browser_hash bytea;

-- Tokens never travel in a URL: after a login with a UI, the browser lands on the UI with
-- a one-time code in the fragment, which the UI trades for the token by POST. Single use,
-- short-lived, stored as its SHA-256; gone with its session.
CREATE TABLE login_codes (
    code_hash bytea PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES sessions ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX login_codes_session ON login_codes (session_id);
CREATE INDEX login_codes_expiry ON login_codes (expires_at);
