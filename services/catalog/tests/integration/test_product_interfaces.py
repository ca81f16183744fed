"""product_interfaces stays exact through every write path (migration 0003's triggers)."""

from __future__ import annotations

from uuid import UUID, uuid4


async def _counts(conn, product: UUID) -> dict[UUID, tuple[int, int]]:
    rows = await conn.fetch(
        "SELECT interface_id, builds, published_builds FROM product_interfaces WHERE product_id = $1", product
    )
    return {r["interface_id"]: (r["builds"], r["published_builds"]) for r in rows}


async def _world(conn):
    product, fhir, cds = uuid4(), uuid4(), uuid4()
    await conn.execute(
        "INSERT INTO products (id, user_id, name) VALUES ($1, $2, $3)", product, uuid4(), f"P {product}"
    )
    for i, name in ((fhir, "FHIR"), (cds, "CDS")):
        await conn.execute(
            "INSERT INTO interfaces (id, name, uri, version) VALUES ($1, $2, $3, '1')",
            i,
            f"{name} {i}",
            f"urn:{i}",
        )
    builds = [uuid4(), uuid4()]
    for n, b in enumerate(builds):
        await conn.execute(
            "INSERT INTO builds (id, product_id, version) VALUES ($1, $2, $3)", b, product, f"1.{n}.0"
        )
    return product, fhir, cds, builds


class TestCounts:
    async def test_exposures_and_publication_move_the_counts(self, catalog) -> None:
        conn = await catalog.db()
        product, fhir, cds, (b1, b2) = await _world(conn)
        e1 = uuid4()
        await conn.execute(
            "INSERT INTO exposures (id, build_id, interface_id) VALUES ($1, $2, $3)", e1, b1, fhir
        )
        await conn.execute(
            "INSERT INTO exposures (id, build_id, interface_id) VALUES ($1, $2, $3)", uuid4(), b2, fhir
        )
        await conn.execute(
            "INSERT INTO exposures (id, build_id, interface_id) VALUES ($1, $2, $3)", uuid4(), b2, cds
        )
        assert await _counts(conn, product) == {fhir: (2, 0), cds: (1, 0)}
        await conn.execute("UPDATE builds SET published_at = now() WHERE id = $1", b2)
        assert await _counts(conn, product) == {fhir: (2, 1), cds: (1, 1)}
        await conn.execute("UPDATE builds SET published_at = NULL WHERE id = $1", b2)
        assert await _counts(conn, product) == {fhir: (2, 0), cds: (1, 0)}
        await conn.execute("DELETE FROM exposures WHERE id = $1", e1)
        assert await _counts(conn, product) == {fhir: (1, 0), cds: (1, 0)}

    async def test_cascades_leave_no_stale_rows(self, catalog) -> None:
        conn = await catalog.db()
        product, fhir, cds, (b1, b2) = await _world(conn)
        await conn.execute("UPDATE builds SET published_at = now() WHERE id = $1", b1)
        await conn.execute(
            "INSERT INTO exposures (id, build_id, interface_id) VALUES ($1, $2, $3)", uuid4(), b1, fhir
        )
        await conn.execute(
            "INSERT INTO exposures (id, build_id, interface_id) VALUES ($1, $2, $3)", uuid4(), b2, cds
        )
        assert await _counts(conn, product) == {fhir: (1, 1), cds: (1, 0)}
        await conn.execute("DELETE FROM builds WHERE id = $1", b1)
        assert await _counts(conn, product) == {cds: (1, 0)}
        await conn.execute("DELETE FROM interfaces WHERE id = $1", cds)
        assert await _counts(conn, product) == {}
        await conn.execute(
            "INSERT INTO exposures (id, build_id, interface_id) VALUES ($1, $2, $3)", uuid4(), b2, fhir
        )
        await conn.execute("DELETE FROM products WHERE id = $1", product)
        assert (
            await conn.fetchval("SELECT count(*) FROM product_interfaces WHERE product_id = $1", product) == 0
        )

    async def test_anonymous_search_counts_only_published_builds(self, catalog) -> None:
        conn = await catalog.db()
        product, fhir, _, (b1, _) = await _world(conn)
        await conn.execute(
            "UPDATE products SET published_at = now(), visible_at = now() WHERE id = $1", product
        )
        await conn.execute(
            "INSERT INTO exposures (id, build_id, interface_id) VALUES ($1, $2, $3)", uuid4(), b1, fhir
        )
        r = await catalog.post("/products/search", None, {"interface_id": str(fhir)})
        assert r.body["total_entries"] == 0
        await conn.execute("UPDATE builds SET published_at = now() WHERE id = $1", b1)
        r = await catalog.post("/products/search", None, {"interface_id": str(fhir), "facets": ["interface"]})
        assert [p["id"] for p in r.body["results"]] == [str(product)]
        assert r.body["facets"]["interface"][0]["count"] == 1
