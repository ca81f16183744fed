-- HSP Marketplace: PostgreSQL bootstrap for compose.yaml.
--
-- The postgres image runs this once, when it initialises an empty data directory
-- (mounted at /docker-entrypoint-initdb.d/), as the superuser "postgres". It creates
-- the application role "hspm" and one database per service, owned by that role.
-- Re-running it is harmless; to run it again on an existing volume, remove the volume
-- (`docker compose down -v`) and start again.
--
-- The role's password is the container's POSTGRES_PASSWORD (from .env), read with
-- psql's \getenv (psql 15 or newer, as in postgres:15). It is never written here.
--
-- "hspm" is not a superuser. It owns its databases, so its migrations may create
-- tables, schemas and trusted extensions (pgcrypto, citext, uuid-ossp...). CREATEDB
-- lets a service create its database itself when it is missing (hspm.common.db
-- ensure_database), e.g. for a service added after the volume was initialised.

\set ON_ERROR_STOP on
\getenv hspm_password POSTGRES_PASSWORD

SELECT format('CREATE ROLE hspm LOGIN CREATEDB PASSWORD %L', :'hspm_password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hspm')
\gexec

-- One database per service that keeps state (gateway, validator and web keep none).
SELECT format('CREATE DATABASE %I OWNER hspm', db)
FROM unnest(ARRAY[
    'hspm_identity',
    'hspm_catalog',
    'hspm_curation',
    'hspm_licensing',
    'hspm_notifier'
]) AS db
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = db)
\gexec

-- Only the owner (and the superuser) may connect to a service's database.
SELECT format('REVOKE CONNECT, TEMPORARY ON DATABASE %I FROM PUBLIC', datname)
FROM pg_database
WHERE datname LIKE 'hspm\_%'
\gexec
