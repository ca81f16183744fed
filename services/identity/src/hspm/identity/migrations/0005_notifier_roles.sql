-- The notifier's keys for the built-in roles. Operators support customers' platforms:
-- they read, change and remove platforms and instances (creating one for a customer
-- stays with the customer, whose entitlements decide it). Auditors read platforms and
-- instances beside the recall acknowledgements they already read (recalls.read).
-- Customers need no key: a user manages their own platforms and instances as owner.
--
-- Merged into what each role holds now (jsonb ||, one level down), as 0004 does, so
-- every other key and an administrator's later edits stay; applying twice changes nothing.
UPDATE roles
SET permissions = permissions
        || jsonb_build_object(
            'platforms', coalesce(permissions -> 'platforms', '{}'::jsonb)
                || '{"read": true, "update": true, "delete": true}'::jsonb,
            'instances', coalesce(permissions -> 'instances', '{}'::jsonb)
                || '{"read": true, "update": true, "delete": true}'::jsonb
        ),
    updated_at = now()
WHERE id = '00000000-0000-4000-8000-000000000002';

UPDATE roles
SET permissions = permissions
        || jsonb_build_object(
            'platforms', coalesce(permissions -> 'platforms', '{}'::jsonb) || '{"read": true}'::jsonb,
            'instances', coalesce(permissions -> 'instances', '{}'::jsonb) || '{"read": true}'::jsonb
        ),
    updated_at = now()
WHERE id = '00000000-0000-4000-8000-000000000005';
