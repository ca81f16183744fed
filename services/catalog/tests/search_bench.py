"""Load 10,000 products and 100,000 builds into a scratch database and EXPLAIN ANALYZE search.

Not a test (timings never decide pass/fail): run it by hand after changing search SQL.
``.venv/bin/python services/catalog/tests/search_bench.py [postgresql://postgres@127.0.0.1:5432]``
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from hspm.catalog.search import store
from hspm.catalog.search.models import SearchQuery, Viewer
from hspm.catalog.search.rules import FACETS, page_params
from hspm.common import db
from hspm.common.db import Conn

PRODUCTS, BUILDS_EACH, INTERFACES, BADGES, LICENSES = 10_000, 10, 40, 8, 6
MIMES = [
    "application/vnd.docker+fhir",
    "application/vnd.docker+smart",
    "application/x-cds-hooks",
    "application/x-knart",
]
WORDS = [
    "growth",
    "chart",
    "fhir",
    "smart",
    "dosing",
    "pediatric",
    "sepsis",
    "alert",
    "cql",
    "hooks",
    "registry",
    "imaging",
    "lab",
    "oncology",
]


class Explained:
    """A connection that also EXPLAIN ANALYZEs every statement store functions send."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn
        self.plans: list[tuple[float, str]] = []

    async def _explain(self, sql: str, args: tuple[Any, ...]) -> None:
        plan = await self.conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", *args)
        self.plans.append((plan[0]["Execution Time"], " ".join(sql.split())[:90]))

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        await self._explain(sql, args)
        return await self.conn.fetch(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        await self._explain(sql, args)
        return await self.conn.fetchval(sql, *args)


async def load(conn: Conn) -> tuple[list[UUID], list[UUID]]:
    rnd = random.Random(7)
    now = datetime.now(UTC)
    products = [uuid4() for _ in range(PRODUCTS)]
    interfaces = [uuid4() for _ in range(INTERFACES)]
    badges = [uuid4() for _ in range(BADGES)]
    await conn.copy_records_to_table(
        "products",
        columns=["id", "user_id", "name", "description", "mime_type", "published_at", "visible_at"],
        records=[
            (
                pid,
                uuid4(),
                f"{rnd.choice(WORDS).title()} {rnd.choice(WORDS)} {i}",
                " ".join(rnd.choices(WORDS, k=12)),
                rnd.choice(MIMES),
                now - timedelta(days=1) if i % 5 else None,
                now - timedelta(days=1) if i % 5 else None,
            )
            for i, pid in enumerate(products)
        ],
    )
    await conn.copy_records_to_table(
        "interfaces",
        columns=["id", "name", "uri", "version"],
        records=[(iid, f"Interface {n}", f"urn:i:{n}", "1") for n, iid in enumerate(interfaces)],
    )
    builds = [
        (uuid4(), pid, f"1.0.{k}", now if k % 2 else None) for pid in products for k in range(BUILDS_EACH)
    ]
    await conn.copy_records_to_table(
        "builds", columns=["id", "product_id", "version", "published_at"], records=builds
    )
    await conn.copy_records_to_table(
        "exposures",
        columns=["id", "build_id", "interface_id"],
        records=[(uuid4(), b[0], rnd.choice(interfaces)) for b in builds],
    )
    await conn.copy_records_to_table(
        "badges",
        columns=["id", "name", "description"],
        records=[(b, f"badge {n}", "x") for n, b in enumerate(badges)],
    )
    await conn.copy_records_to_table(
        "badge_awards",
        columns=["id", "badge_id", "product_id"],
        records=[(uuid4(), rnd.choice(badges), pid) for pid in products[::3]],
    )
    licenses = [uuid4() for _ in range(LICENSES)]
    await conn.copy_records_to_table(
        "product_license_offers",
        columns=["product_id", "license_id", "license_name"],
        records=[
            (pid, lic, f"License {n}") for pid in products for n, lic in enumerate(rnd.sample(licenses, 2))
        ],
    )
    await conn.execute("ANALYZE")
    return interfaces, badges


async def run(conn: Conn, label: str, query: SearchQuery, viewer: Viewer) -> None:
    ex = Explained(conn)
    started = time.perf_counter()
    rows, total, _, _ = await store.search(ex, query, viewer, FACETS)  # type: ignore[arg-type]
    wall = (time.perf_counter() - started) * 1000
    print(f"\n{label}: {total} matches, {len(rows)} on the page; wall {wall:.1f} ms incl. EXPLAIN overhead")
    for ms, sql in ex.plans:
        print(f"  {ms:7.2f} ms  {sql}")


async def main(server: str) -> None:
    dsn = f"{server.rstrip('/')}/hspm_search_bench"
    admin = await asyncpg.connect(f"{server.rstrip('/')}/postgres")
    await admin.execute('DROP DATABASE IF EXISTS "hspm_search_bench" WITH (FORCE)')
    await admin.close()
    await db.ensure_database(dsn)
    pool = await db.create_pool(dsn, 1, 2)
    await db.migrate(
        pool, {"common": db.load_migrations("hspm.common"), "catalog": db.load_migrations("hspm.catalog")}
    )
    async with pool.acquire() as conn:
        interfaces, badges = await load(conn)
        anon, op = Viewer(), Viewer(user_id=uuid4(), sees_drafts=True)

        def q(**kw: Any) -> SearchQuery:
            return SearchQuery(page=page_params({}, ("relevance", "name"), bool(kw.get("text"))), **kw)

        await run(conn, "anonymous, no text", q(), anon)
        await run(conn, "anonymous, text 'growth ch'", q(text="growth ch"), anon)
        await run(
            conn,
            "anonymous, text + mime + interface",
            q(text="fhir", mime_types=(MIMES[0],), interface_id=interfaces[0]),
            anon,
        )
        await run(conn, "operator, badge filter", q(badge_id=badges[0]), op)
    await pool.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1:5432"))
