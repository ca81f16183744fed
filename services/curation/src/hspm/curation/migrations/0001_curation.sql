-- Curation: a read copy of the catalog's products and builds, review cases with their
-- provenance, validation runs with their reports, the operator's policy, recalls.

-- Read copy of the catalog (fed by catalog.* events; never written through the API).
CREATE TABLE products (
    id uuid PRIMARY KEY,
    owner_id uuid,
    published_at timestamptz,
    visible_at timestamptz,
    -- occurred_at of the last publication event applied: events may arrive out of order.
    publication_at timestamptz NOT NULL DEFAULT '-infinity',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX products_owner ON products (owner_id);

CREATE TABLE builds (
    id uuid PRIMARY KEY,
    product_id uuid NOT NULL REFERENCES products ON DELETE CASCADE,
    version text NOT NULL,
    image jsonb NOT NULL,
    -- The latest catalog.build.submitted as received: what validation requests carry.
    snapshot jsonb NOT NULL,
    status text NOT NULL,
    published_at timestamptz,
    withdrawn_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX builds_product ON builds (product_id);

CREATE TABLE review_cases (
    id uuid PRIMARY KEY,
    build_id uuid NOT NULL UNIQUE REFERENCES builds ON DELETE CASCADE,
    product_id uuid NOT NULL REFERENCES products ON DELETE CASCADE,
    state text NOT NULL CHECK (state IN (
        'submitted', 'validating', 'awaiting_review', 'auto_rejected', 'approved', 'rejected',
        'changes_requested', 'published', 'deprecated', 'withdrawn', 'recalled')),
    attention boolean NOT NULL DEFAULT false,
    attention_reason text,
    -- 1 for the first submission, +1 per resubmission.
    submission integer NOT NULL DEFAULT 1 CHECK (submission >= 1),
    -- The run of the current submission: only its report moves the case.
    current_run_id uuid,
    submitted_at timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX review_cases_queue ON review_cases (state, submitted_at);
CREATE INDEX review_cases_product ON review_cases (product_id);

CREATE TABLE provenance (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id uuid NOT NULL REFERENCES review_cases ON DELETE CASCADE,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor_kind text NOT NULL CHECK (actor_kind IN ('user', 'system', 'validator')),
    actor_id uuid,
    actor_name text,
    from_state text,
    to_state text NOT NULL,
    event text NOT NULL,
    remark text,
    run_id uuid,
    recall_id uuid,
    badge_ids uuid[] NOT NULL DEFAULT '{}'
);
CREATE INDEX provenance_case ON provenance (case_id, id);

-- Append-only: an entry, once written, is history (it goes only with its case).
CREATE FUNCTION provenance_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'provenance is append-only';
END $$;
CREATE TRIGGER provenance_no_update BEFORE UPDATE ON provenance
    FOR EACH ROW EXECUTE FUNCTION provenance_is_append_only();

CREATE TABLE validation_runs (
    id uuid PRIMARY KEY,
    build_id uuid NOT NULL REFERENCES builds ON DELETE CASCADE,
    product_id uuid NOT NULL,
    trigger text NOT NULL CHECK (trigger IN ('submission', 'manual', 'scheduled')),
    status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'completed')),
    outcome text CHECK (outcome IN ('passed', 'failed', 'error')),
    requested_by uuid,
    requested_by_name text,
    -- The policy the request carried (with the product's exceptions).
    policy jsonb NOT NULL,
    attempt integer NOT NULL DEFAULT 0,
    requested_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    completed_at timestamptz,
    digest text,
    rules jsonb NOT NULL DEFAULT '[]',
    runtime jsonb,
    timings jsonb NOT NULL DEFAULT '{}',
    image jsonb NOT NULL DEFAULT '{}',
    summary text NOT NULL DEFAULT '',
    error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'completed') = (outcome IS NOT NULL))
);
CREATE INDEX validation_runs_build ON validation_runs (build_id, requested_at DESC);
CREATE INDEX validation_runs_open ON validation_runs (requested_at) WHERE status <> 'completed';

-- One row: the operator's policy as a ValidationPolicy document (exceptions live apart).
CREATE TABLE validation_policy (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    document jsonb NOT NULL,
    updated_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE policy_exceptions (
    id uuid PRIMARY KEY,
    product_id uuid NOT NULL REFERENCES products ON DELETE CASCADE,
    rule text NOT NULL,
    reason text NOT NULL CHECK (length(reason) >= 1),
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (product_id, rule)
);

-- Recalls outlive their product: platforms running an affected build still need them.
CREATE TABLE recalls (
    id uuid PRIMARY KEY,
    product_id uuid NOT NULL,
    versions text NOT NULL,
    build_ids uuid[] NOT NULL CHECK (cardinality(build_ids) >= 1),
    severity text NOT NULL CHECK (severity IN ('low', 'moderate', 'high', 'critical')),
    reason text NOT NULL,
    fixed_build_id uuid,
    deadline timestamptz,
    issued_by uuid,
    issued_by_name text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX recalls_product ON recalls (product_id, created_at);
