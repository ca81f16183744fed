-- Issue 9: one stored form of an image's registry. container_registry is a lower-case
-- host[:port] (no scheme, credentials or path) and container_repository the path only.
-- Before, API builds stored a bare host and imported builds the document's URL
-- (https://index.docker.io/v1/), with the registry host repeated in the repository.

UPDATE builds SET container_registry = NULLIF(lower(
    CASE WHEN container_registry LIKE '%://%'
         THEN coalesce(substring(btrim(container_registry) FROM '://(?:[^@/?#]*@)?([^/?#]*)'), '')
         ELSE btrim(container_registry) END), '')
WHERE container_registry IS NOT NULL;

-- A repository whose first component is a host (a dot or a port in it, or localhost:
-- docker's rule) gives the registry, unless the build names a different one; that
-- conflict is left as it was, for validation to refuse.
WITH split AS (
    SELECT id,
           lower(split_part(container_repository, '/', 1)) AS host,
           substr(container_repository, strpos(container_repository, '/') + 1) AS path
    FROM builds
    WHERE strpos(container_repository, '/') > 0
      AND (split_part(container_repository, '/', 1) ~ '[.:]'
           OR split_part(container_repository, '/', 1) = 'localhost')
)
UPDATE builds b SET container_registry = s.host, container_repository = s.path
FROM split s
WHERE b.id = s.id
  AND (b.container_registry IS NULL
       OR b.container_registry = s.host
       OR (b.container_registry IN ('docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com')
           AND s.host IN ('docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com')));
