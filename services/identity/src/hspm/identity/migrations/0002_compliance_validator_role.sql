-- A built-in role for compliance validators (spec 3.1): organisations that certify builds
-- by running the Marketplace's validation suite against any submitted build and reading
-- every report, without curating (no decisions, no publication, no recalls).
INSERT INTO roles (id, name, description, "default", builtin, permissions) VALUES
('00000000-0000-4000-8000-000000000006', 'Compliance Validator',
 'Runs the validation suite against any submitted build and reads every report; decides nothing.',
 false, true,
 '{"validations": {"create": true, "read": true}, "reviews": {"read": true},
   "recalls": {"read": true}, "products": {"read": true}, "builds": {"read": true}}')
ON CONFLICT (id) DO NOTHING;
