-- The licensing service's keys for the built-in roles. Operators run licensing for the
-- marketplace: they grant and revoke entitlements, manage claims and vouchers, read the
-- usage records and may call the runtime check. Auditors also read vouchers (who issued,
-- who redeemed) beside the entitlements, claims and attempts they already read.
--
-- Each resource's verbs are merged into what the role holds now (jsonb ||, one level
-- down), so every other key, including an administrator's later edits, stays as it is;
-- applying this twice changes nothing more.
UPDATE roles
SET permissions = permissions
        || jsonb_build_object(
            'entitlements', coalesce(permissions -> 'entitlements', '{}'::jsonb)
                || '{"create": true, "read": true, "update": true, "delete": true}'::jsonb,
            'claims', coalesce(permissions -> 'claims', '{}'::jsonb)
                || '{"create": true, "read": true, "update": true, "delete": true}'::jsonb,
            'vouchers', coalesce(permissions -> 'vouchers', '{}'::jsonb)
                || '{"create": true, "read": true, "update": true, "delete": true}'::jsonb,
            'attempts', coalesce(permissions -> 'attempts', '{}'::jsonb) || '{"read": true}'::jsonb,
            'authorizations', coalesce(permissions -> 'authorizations', '{}'::jsonb)
                || '{"create": true}'::jsonb
        ),
    updated_at = now()
WHERE id = '00000000-0000-4000-8000-000000000002';

UPDATE roles
SET permissions = permissions
        || jsonb_build_object(
            'vouchers', coalesce(permissions -> 'vouchers', '{}'::jsonb) || '{"read": true}'::jsonb
        ),
    updated_at = now()
WHERE id = '00000000-0000-4000-8000-000000000005';
