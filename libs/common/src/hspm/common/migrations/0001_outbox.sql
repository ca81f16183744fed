-- Transactional outbox: events written in the same transaction as the change they describe.
CREATE TABLE outbox (
    id bigserial PRIMARY KEY,
    event_id uuid NOT NULL UNIQUE,
    type text NOT NULL,
    body bytea NOT NULL,
    headers jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    -- A relay leases rows instead of holding a transaction open while it publishes.
    locked_until timestamptz,
    attempts integer NOT NULL DEFAULT 0,
    published_at timestamptz,
    unrouted boolean NOT NULL DEFAULT false
);
CREATE INDEX outbox_pending ON outbox (id) WHERE published_at IS NULL;

-- Idempotent consumers: an event's effect and this row commit together.
CREATE TABLE processed_events (
    event_id uuid PRIMARY KEY,
    type text NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now()
);
