-- The query a search text becomes, built once per statement (search/store.py).
--
-- Names are matched as typed (the 'simple' configuration) and descriptions by their
-- English stems, so a text is read both ways and the two queries OR-ed. For most texts
-- ('fhir', 'risk', 'lab res') both readings are the same query, and OR-ing a query with
-- itself made every index scan and every rank do the work twice: keep one then.
-- Not inlinable (it has a FROM), so a statement calls it once, never once per row.
CREATE FUNCTION catalog_tsquery(text) RETURNS tsquery
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN q.s = q.e THEN q.s ELSE q.s || q.e END
    FROM (SELECT to_tsquery('simple', $1) AS s, to_tsquery('english', $1) AS e) AS q
$$;
