-- Issue 9: an approved build is pinned to the digest that was validated; catalog deletions
-- tombstone instead of erasing the audit trail; validation runs wait in a fair queue.

-- The manifest digest the case's submission run resolved and judged (sha256:...): what
-- approval publishes, what every later run of the build pulls. NULL: nothing pinned yet
-- (or a resubmission is being validated).
ALTER TABLE review_cases ADD COLUMN image_digest text;

-- Tombstones: the catalog deleted the record; curation keeps it (and everything that
-- hangs off it) for staff and auditors, hidden from queues and owners.
ALTER TABLE products ADD COLUMN deleted_at timestamptz;
ALTER TABLE builds ADD COLUMN deleted_at timestamptz;
ALTER TABLE review_cases ADD COLUMN deleted_at timestamptz;

-- Nothing of the audit trail goes with a copy row any more: deleting one that still has
-- a case, provenance or runs fails instead of cascading.
ALTER TABLE builds DROP CONSTRAINT builds_product_id_fkey,
    ADD CONSTRAINT builds_product_id_fkey FOREIGN KEY (product_id) REFERENCES products ON DELETE RESTRICT;
ALTER TABLE review_cases DROP CONSTRAINT review_cases_build_id_fkey,
    ADD CONSTRAINT review_cases_build_id_fkey FOREIGN KEY (build_id) REFERENCES builds ON DELETE RESTRICT;
ALTER TABLE review_cases DROP CONSTRAINT review_cases_product_id_fkey,
    ADD CONSTRAINT review_cases_product_id_fkey FOREIGN KEY (product_id) REFERENCES products ON DELETE RESTRICT;
ALTER TABLE provenance DROP CONSTRAINT provenance_case_id_fkey,
    ADD CONSTRAINT provenance_case_id_fkey FOREIGN KEY (case_id) REFERENCES review_cases ON DELETE RESTRICT;
ALTER TABLE validation_runs DROP CONSTRAINT validation_runs_build_id_fkey,
    ADD CONSTRAINT validation_runs_build_id_fkey FOREIGN KEY (build_id) REFERENCES builds ON DELETE RESTRICT;

-- Provenance is append-only: no update (0001) and now no delete either.
CREATE TRIGGER provenance_no_delete BEFORE DELETE ON provenance
    FOR EACH ROW EXECUTE FUNCTION provenance_is_append_only();

-- The fair queue. A run is requested (a row) and released to the validator later
-- (dispatched_at, when its ValidationRequested goes to the outbox): submissions first,
-- round-robin over fair_key (the requester, or the product's owner for the system's
-- runs), at most validation_queue.max_in_flight released and not yet reported.
ALTER TABLE validation_runs DROP CONSTRAINT validation_runs_trigger_check,
    ADD CONSTRAINT validation_runs_trigger_check
        CHECK (trigger IN ('submission', 'manual', 'scheduled', 'dry_run'));
ALTER TABLE validation_runs
    ADD COLUMN priority smallint NOT NULL DEFAULT 2,
    ADD COLUMN fair_key uuid,
    -- The ValidationRequested to publish on release, built when the run was requested.
    ADD COLUMN request jsonb,
    ADD COLUMN dispatched_at timestamptz;
-- Runs requested before the queue existed were published at once.
UPDATE validation_runs SET dispatched_at = requested_at;
CREATE INDEX validation_runs_waiting ON validation_runs (priority, requested_at) WHERE dispatched_at IS NULL;
-- Per key: its runs in flight and when it was last served (the round-robin's tie-break).
CREATE INDEX validation_runs_fair ON validation_runs (fair_key, dispatched_at);
CREATE INDEX validation_runs_open_by_requester ON validation_runs (requested_by) WHERE status <> 'completed';

-- One row: the queue's limits, written from the settings at every start (the last
-- replica to start wins: give every replica the same values). Its row lock serializes
-- releases, so the in-flight bound holds across transactions and replicas.
CREATE TABLE validation_queue (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    max_in_flight integer NOT NULL CHECK (max_in_flight >= 1),
    max_open_per_requester integer NOT NULL CHECK (max_open_per_requester >= 1),
    max_open_per_product integer NOT NULL CHECK (max_open_per_product >= 1),
    retry_after_seconds integer NOT NULL CHECK (retry_after_seconds >= 1),
    updated_at timestamptz NOT NULL DEFAULT now()
);
