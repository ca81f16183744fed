"""Load a realistic catalog quickly: 10,000 products, 100,000 builds, with COPY.

``Dataset(products=100_000)`` loads ten times as much (1,000,000 builds); by hand:
``python -m bench.catalog_data DSN [PRODUCTS] [--cold]`` into a migrated catalog database
(``--cold``: no VACUUM ANALYZE after the COPY).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg

WORDS = [
    "fhir",
    "smart",
    "cds",
    "hooks",
    "sepsis",
    "risk",
    "score",
    "bilirubin",
    "neonatal",
    "cardiology",
    "oncology",
    "imaging",
    "radiology",
    "pharmacy",
    "medication",
    "reconciliation",
    "allergy",
    "immunization",
    "lab",
    "results",
    "vitals",
    "telehealth",
    "scheduling",
    "billing",
    "claims",
    "prior",
    "authorization",
    "cql",
    "library",
    "terminology",
    "snomed",
    "loinc",
    "icd",
    "quality",
    "measure",
    "dashboard",
    "analytics",
    "population",
    "health",
    "registry",
    "consent",
    "patient",
    "portal",
    "questionnaire",
    "survey",
    "diabetes",
    "hypertension",
    "asthma",
    "copd",
    "stroke",
    "trauma",
    "pediatrics",
    "obstetrics",
    "genomics",
    "pathology",
]
MIME_TYPES = (
    "application/vnd.docker+smart",
    "application/x-cds-hooks",
    "application/vnd.docker+fhir",
    "application/x-cql+zip",
    "application/vnd.docker",
    "application/x-knart",
)


@dataclass
class Dataset:
    products: int = 10_000
    builds_per_product: int = 10
    interfaces: int = 20
    badges: int = 5
    licenses: int = 6
    seed: int = 7
    product_ids: list[uuid.UUID] = field(default_factory=list)
    listed_ids: list[uuid.UUID] = field(default_factory=list)
    interface_ids: list[uuid.UUID] = field(default_factory=list)
    badge_ids: list[uuid.UUID] = field(default_factory=list)
    license_ids: list[uuid.UUID] = field(default_factory=list)


async def load(conn: asyncpg.Connection, data: Dataset, settle: bool = True) -> Dataset:
    """Insert the dataset; returns it with the generated ids filled in.

    ``settle=False`` leaves the tables as the COPY left them (no statistics, no visibility
    map): how a service meets a bulk load it did not make itself.
    """
    rnd = random.Random(data.seed)
    now = datetime.now(UTC)
    owner = uuid.UUID(int=rnd.getrandbits(128), version=4)
    data.interface_ids = [uuid.UUID(int=rnd.getrandbits(128), version=4) for _ in range(data.interfaces)]
    await conn.copy_records_to_table(
        "interfaces",
        records=[
            (i, f"Interface {n}", f"https://hl7.org/bench/interface/{n}", "1.0.0")
            for n, i in enumerate(data.interface_ids)
        ],
        columns=["id", "name", "uri", "version"],
    )
    data.badge_ids = [uuid.UUID(int=rnd.getrandbits(128), version=4) for _ in range(data.badges)]
    await conn.copy_records_to_table(
        "badges",
        records=[(b, f"Badge {n}", f"Endorsed by society {n}.") for n, b in enumerate(data.badge_ids)],
        columns=["id", "name", "description"],
    )
    data.license_ids = [uuid.UUID(int=rnd.getrandbits(128), version=4) for _ in range(data.licenses)]
    products, offers, awards, builds, exposures = [], [], [], [], []
    for n in range(data.products):
        pid = uuid.UUID(int=rnd.getrandbits(128), version=4)
        words = rnd.sample(WORDS, 12)
        listed = rnd.random() < 0.9
        published = now - timedelta(days=rnd.randint(1, 900)) if listed else None
        products.append(
            (
                pid,
                owner,
                f"{words[0].title()} {words[1].title()} {n}",
                " ".join(words),
                rnd.choice(MIME_TYPES),
                published,
                published,
            )
        )
        data.product_ids.append(pid)
        if listed:
            data.listed_ids.append(pid)
        offers.append((pid, rnd.choice(data.license_ids), "License"))
        if rnd.random() < 0.2:
            awards.append((uuid.UUID(int=rnd.getrandbits(128), version=4), rnd.choice(data.badge_ids), pid))
        # A product's builds all expose the same one or two interfaces, as real ones do.
        interfaces = rnd.sample(data.interface_ids, rnd.choice((1, 1, 2)))
        for v in range(data.builds_per_product):
            bid = uuid.UUID(int=rnd.getrandbits(128), version=4)
            status = "published" if listed else "draft"
            builds.append((bid, pid, f"1.{v}.0", [1, v, 0], published if listed else None, status))
            for interface_id in interfaces:
                exposures.append((uuid.UUID(int=rnd.getrandbits(128), version=4), bid, interface_id))
    await conn.copy_records_to_table(
        "products",
        records=products,
        columns=["id", "user_id", "name", "description", "mime_type", "published_at", "visible_at"],
    )
    await conn.copy_records_to_table(
        "product_license_offers", records=offers, columns=["product_id", "license_id", "license_name"]
    )
    await conn.copy_records_to_table("badge_awards", records=awards, columns=["id", "badge_id", "product_id"])
    await conn.copy_records_to_table(
        "builds",
        records=builds,
        columns=["id", "product_id", "version", "version_core", "published_at", "status"],
    )
    await conn.copy_records_to_table(
        "exposures", records=exposures, columns=["id", "build_id", "interface_id"]
    )
    # What a bulk load ends with: statistics for the planner, and the visibility map and
    # hint bits a first reader would otherwise pay for (a search over a freshly copied
    # table cost twice as much until autovacuum came by).
    if settle:
        await conn.execute("VACUUM (ANALYZE)")
    return data


async def _main(dsn: str, products: int, settle: bool) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        data = await load(conn, Dataset(products=products), settle)
    finally:
        await conn.close()
    print(f"loaded {data.products} products, {data.products * data.builds_per_product} builds")


if __name__ == "__main__":
    import asyncio
    import sys

    # python -m bench.catalog_data DSN [PRODUCTS] [--cold]
    args = [a for a in sys.argv[1:] if a != "--cold"]
    asyncio.run(_main(args[0], int(args[1]) if len(args) > 1 else 10_000, "--cold" not in sys.argv))
