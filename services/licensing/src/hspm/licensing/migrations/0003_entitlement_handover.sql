-- Entitlements: the holder's one handover, and the expiry sweep's index.

-- The spec lets whoever holds an entitlement (a voucher's redeemer, say) "keep it or
-- assign it to another User". The holder may do that once: set whenever user_id changes,
-- and the holder's own reassignment requires it to be NULL (one conditional UPDATE), so a
-- handed-over entitlement cannot travel on from user to user. Staff may reassign any time.
ALTER TABLE entitlements ADD COLUMN reassigned_at timestamptz;

-- The sweep looks, per product license with an expiring license, for entitlements not yet
-- announced as expired: a range scan on valid_from (relative licenses end days_valid after
-- it) instead of a walk over every entitlement ever granted, most of which are indefinite.
CREATE INDEX entitlements_unexpired ON entitlements (product_license_id, valid_from)
    WHERE expired_at IS NULL AND revoked_at IS NULL;

-- A redeemer sees the vouchers they redeemed.
CREATE INDEX vouchers_redeemed_by ON vouchers (redeemed_by) WHERE redeemed_by IS NOT NULL;
