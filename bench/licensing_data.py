"""Load a realistic licensing database quickly with COPY: 10,000 users, 50,000 entitlements.

- 10,500 products in families three levels deep (500 roots, 4 children each, 4
  grandchildren each), owned by 200 vendors; each product offered under two licenses;
- 10,000 users, 1,000 groups (a user belongs to up to two);
- 50,000 entitlements, each with a claim (one in seven claimed by a group), mostly on
  roots and children so a check walks the family; some revoked;
- the bench's users (``Dataset.bench_users``, made in identity so they have tokens):
  each a typical customer, in two groups, with ``per_user`` entitlements on family roots
  besides an expired and a revoked one; ``Dataset.targets`` pairs each with a grandchild
  two levels below one of its live licenses.

By hand: ``python -m bench.licensing_data DSN USER_ID...`` into a migrated licensing database.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg

from hspm.licensing import terms

ROOTS = 500
FANOUT = 4
VENDORS = 200
GROUPS = 1_000
# (expiry, days_valid, expires_at offset in days or None, uses)
LICENSES = (
    ("indefinite", 0, None, 0),
    ("indefinite", 0, None, 1_000_000_000),
    ("relative_date", 365, None, 0),
    ("relative_date", 30, None, 0),
    ("absolute_date", 0, 365, 0),
    ("absolute_date", 0, -1, 0),
)
UNLIMITED, EXPIRED = 0, 5
# A license's terms as ``terms.valid_until`` takes them: (expiry, days_valid, expires_at).
Terms = tuple[str, int, datetime | None]


@dataclass
class Dataset:
    bench_users: list[uuid.UUID]
    users: int = 10_000
    entitlements: int = 50_000
    per_user: int = 2
    seed: int = 11
    # (bench user, a product one of its claims covers)
    targets: list[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=list)


@dataclass
class _Rows:
    products: list[tuple[object, ...]] = field(default_factory=list)
    parents: list[tuple[object, ...]] = field(default_factory=list)
    offers: list[tuple[object, ...]] = field(default_factory=list)
    entitlements: list[tuple[object, ...]] = field(default_factory=list)
    claims: list[tuple[object, ...]] = field(default_factory=list)
    # offer id -> its license's terms
    terms: dict[uuid.UUID, Terms] = field(default_factory=dict)

    def offer(self, oid: uuid.UUID, pid: uuid.UUID, lid: uuid.UUID, license_terms: Terms) -> None:
        self.offers.append((oid, pid, lid))
        self.terms[oid] = license_terms


def _uuid(rnd: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rnd.getrandbits(128), version=4)


def _families(rnd: random.Random, rows: _Rows) -> list[list[uuid.UUID]]:
    """Products as [root, its children..., their grandchildren...] per family."""
    vendors = [_uuid(rnd) for _ in range(VENDORS)]
    families = []
    for n in range(ROOTS):
        owner = rnd.choice(vendors)
        root = _uuid(rnd)
        members = [root]
        rows.products.append((root, owner, f"Suite {n}"))
        for c in range(FANOUT):
            child = _uuid(rnd)
            members.append(child)
            rows.products.append((child, owner, f"Suite {n} module {c}"))
            rows.parents.append((child, root))
            for g in range(FANOUT):
                grandchild = _uuid(rnd)
                members.append(grandchild)
                rows.products.append((grandchild, owner, f"Suite {n} module {c} feature {g}"))
                rows.parents.append((grandchild, child))
        families.append(members)
    return families


def _offers(
    rnd: random.Random, rows: _Rows, products: list[uuid.UUID], licenses: dict[uuid.UUID, Terms]
) -> dict[uuid.UUID, dict[uuid.UUID, uuid.UUID]]:
    """Two licenses per product: {product: {license: offer}}."""
    by_product: dict[uuid.UUID, dict[uuid.UUID, uuid.UUID]] = {}
    for pid in products:
        by_product[pid] = {}
        for lid in rnd.sample(sorted(licenses), 2):
            oid = _uuid(rnd)
            rows.offer(oid, pid, lid, licenses[lid])
            by_product[pid][lid] = oid
    return by_product


def _entitle(
    rows: _Rows, eid: uuid.UUID, owner: uuid.UUID, offer: uuid.UUID, since: datetime, revoked: bool
) -> None:
    """One entitlement; one whose window has closed is marked as the expiry sweep leaves it
    (announced), so the service's sweep finds nothing to do during the measurements."""
    expiry, days, expires_at = rows.terms[offer]
    until = terms.valid_until(expiry, since, days, expires_at)
    expired = until if until is not None and until <= datetime.now(UTC) and not revoked else None
    rows.entitlements.append((eid, owner, offer, since, since if revoked else None, expired))


async def load(conn: asyncpg.Connection, data: Dataset) -> Dataset:
    """Insert the dataset; returns it with the bench user's target products filled in."""
    rnd = random.Random(data.seed)
    now = datetime.now(UTC)
    rows = _Rows()
    licenses = {
        _uuid(rnd): (expiry, days, now + timedelta(days=offset) if offset is not None else None)
        for expiry, days, offset, _ in LICENSES
    }
    await conn.copy_records_to_table(
        "licenses",
        records=[
            (lid, f"Bench license {n} {lid}", f"https://licenses.bench/{lid}", *t, spec[3])
            for n, ((lid, t), spec) in enumerate(zip(licenses.items(), LICENSES, strict=True))
        ],
        columns=["id", "name", "url", "expiry", "days_valid", "expires_at", "uses"],
    )
    families = _families(rnd, rows)
    products = [p for f in families for p in f]
    offers = _offers(rnd, rows, products, licenses)
    users = [_uuid(rnd) for _ in range(data.users)]
    groups = [_uuid(rnd) for _ in range(GROUPS)]
    memberships = {(u, g) for u in users for g in rnd.sample(groups, rnd.choice((0, 1, 1, 2)))}
    memberships |= {(u, g) for u in data.bench_users for g in rnd.sample(groups, 2)}
    # Mostly on roots and children: the check walks up from what it is asked about.
    levels = (
        [f[:1] for f in families],
        [f[1 : 1 + FANOUT] for f in families],
        [f[1 + FANOUT :] for f in families],
    )
    for _ in range(data.entitlements):
        level = rnd.choices(levels, weights=(6, 3, 1))[0]
        pid = rnd.choice(rnd.choice(level))
        eid, owner = _uuid(rnd), rnd.choice(users)
        since = now - timedelta(days=rnd.randint(1, 200), seconds=rnd.randint(0, 86_400))
        _entitle(rows, eid, owner, rnd.choice(list(offers[pid].values())), since, rnd.random() < 0.05)
        claimant = ("Group", rnd.choice(groups)) if rnd.random() < 1 / 7 else ("User", owner)
        rows.claims.append((_uuid(rnd), eid, *claimant))
    _bench_user(rnd, data, rows, families, offers, licenses, now)
    await _copy(conn, rows, users, data.bench_users, memberships)
    # Statistics for the planner and the visibility map, as after any bulk load; then the
    # load's dirty pages written out now, not by a checkpoint during the measurements (each
    # check commits, and its WAL flush would queue behind that writing).
    await conn.execute("VACUUM (ANALYZE)")
    await conn.execute("CHECKPOINT")
    return data


def _bench_user(
    rnd: random.Random,
    data: Dataset,
    rows: _Rows,
    families: list[list[uuid.UUID]],
    offers: dict[uuid.UUID, dict[uuid.UUID, uuid.UUID]],
    licenses: dict[uuid.UUID, Terms],
    now: datetime,
) -> None:
    """Each bench user's entitlements: live ones on roots, and two a check passes over
    (on the expired license; one of them revoked as well)."""
    since = now - timedelta(days=30)
    for user in data.bench_users:
        for n, family in enumerate(rnd.sample(families, data.per_user + 2)):
            live = n < data.per_user
            root, lid = family[0], list(licenses)[UNLIMITED if live else EXPIRED]
            if lid not in offers[root]:
                offers[root][lid] = _uuid(rnd)
                rows.offer(offers[root][lid], root, lid, licenses[lid])
            eid = _uuid(rnd)
            _entitle(rows, eid, user, offers[root][lid], since, revoked=n == data.per_user)
            rows.claims.append((_uuid(rnd), eid, "User", user))
            if live:
                data.targets.append((user, family[-1]))  # a grandchild: two levels below


async def _copy(
    conn: asyncpg.Connection,
    rows: _Rows,
    users: list[uuid.UUID],
    bench_users: list[uuid.UUID],
    memberships: set[tuple[uuid.UUID, uuid.UUID]],
) -> None:
    await conn.copy_records_to_table("products", records=rows.products, columns=["id", "owner_id", "name"])
    await conn.copy_records_to_table(
        "product_parents", records=rows.parents, columns=["child_id", "parent_id"]
    )
    # The bench users may be here already (identity's user.created reached licensing).
    await conn.executemany(
        "INSERT INTO users (id) VALUES ($1) ON CONFLICT DO NOTHING", [(u,) for u in bench_users]
    )
    await conn.copy_records_to_table("users", records=[(u,) for u in users], columns=["id"])
    await conn.copy_records_to_table(
        "memberships", records=sorted(memberships), columns=["user_id", "group_id"]
    )
    await conn.copy_records_to_table(
        "product_licenses", records=rows.offers, columns=["id", "product_id", "license_id"]
    )
    await conn.copy_records_to_table(
        "entitlements",
        records=rows.entitlements,
        columns=["id", "user_id", "product_license_id", "valid_from", "revoked_at", "expired_at"],
    )
    await conn.copy_records_to_table(
        "claims", records=rows.claims, columns=["id", "entitlement_id", "claimant_type", "claimant_id"]
    )


async def _main(dsn: str, user_ids: list[str]) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        data = await load(conn, Dataset(bench_users=[uuid.UUID(u) for u in user_ids]))
    finally:
        await conn.close()
    print(f"loaded {data.users} users, {data.entitlements} entitlements; {len(data.targets)} targets")


if __name__ == "__main__":
    import asyncio
    import sys

    asyncio.run(_main(sys.argv[1], sys.argv[2:]))
