"""The check's limits: validity windows at their exact boundaries, and use limits under load.

Boundaries are tested on the check's own statement inside one transaction, where the
database's ``now()`` stands still: a window can then end exactly at the instant of the
check, one microsecond before or after it, and the answer must agree with ``terms``.
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID, uuid4

import pytest

from hspm.licensing import terms
from hspm.licensing.authorizations import store
from hspm.licensing.directory import service as directory

US = "interval '1 microsecond'"


async def seeded(
    licensing: Any, product: UUID, claimant: UUID, expiry: str, uses: int = 0, **kw: Any
) -> UUID:
    """A license, its offer, an entitlement valid since yesterday and its claim: the entitlement."""
    db = await licensing.db()
    lid, plid, eid = uuid4(), uuid4(), uuid4()
    await db.execute(
        "INSERT INTO licenses (id, name, url, expiry, uses, days_valid, expires_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, now() + interval '1 hour')",
        lid,
        f"L {lid}",
        f"https://licenses.test/{lid}",
        expiry,
        uses,
        kw.get("days_valid", 0),
    )
    await db.execute(
        "INSERT INTO product_licenses (id, product_id, license_id) VALUES ($1, $2, $3)", plid, product, lid
    )
    await db.execute(
        "INSERT INTO entitlements (id, user_id, product_license_id, valid_from) "
        "VALUES ($1, $2, $3, now() - interval '1 day')",
        eid,
        kw.get("owner", claimant),
        plid,
    )
    await db.execute(
        "INSERT INTO claims (id, entitlement_id, claimant_type, claimant_id) VALUES ($1, $2, $3, $4)",
        uuid4(),
        eid,
        kw.get("kind", "User"),
        claimant,
    )
    return eid


# Each window's boundary (its end, or its start) is set to ``now() + $1 µs``; the check
# then runs at ``offset`` µs from the boundary, so $1 is ``-offset``.
WINDOWS = {
    "absolute_date ends": ("absolute_date", 0, "UPDATE licenses SET expires_at = now() + {us} * $1"),
    "relative_date ends": (
        "relative_date",
        30,
        "UPDATE entitlements SET valid_from = now() - interval '720 hours' + {us} * $1",
    ),
    "indefinite starts": ("indefinite", 0, "UPDATE entitlements SET valid_from = now() + {us} * $1"),
    "relative_date starts": ("relative_date", 30, "UPDATE entitlements SET valid_from = now() + {us} * $1"),
    "absolute_date starts": ("absolute_date", 0, "UPDATE entitlements SET valid_from = now() + {us} * $1"),
}


@pytest.mark.parametrize("offset", [-1, 0, 1], ids=["just-before", "at", "just-after"])
@pytest.mark.parametrize("window", list(WINDOWS))
async def test_windows_at_their_boundaries_agree_with_terms(licensing, window: str, offset: int) -> None:
    expiry, days, setter = WINDOWS[window]
    product, uid = await licensing.product(), licensing.customer.user_id
    eid = await seeded(licensing, product, uid, expiry, days_valid=days)
    db = await licensing.db()
    tx = db.transaction()
    await tx.start()
    try:
        await db.execute(setter.format(us=US), -offset)
        row = await db.fetchrow(
            "SELECT now() AS now, e.valid_from, l.expiry, l.days_valid, l.expires_at "
            "FROM entitlements e JOIN product_licenses pl ON pl.id = e.product_license_id "
            "JOIN licenses l ON l.id = pl.license_id WHERE e.id = $1",
            eid,
        )
        expected = terms.is_valid(
            row["now"], row["expiry"], row["valid_from"], row["days_valid"], row["expires_at"]
        )
        verdict = await store.check(db, "User", uid, product, uuid4(), None, None, directory.MAX_FAMILY_DEPTH)
    finally:
        await tx.rollback()  # now() stood still for all of it; nothing is kept
    assert verdict["outcome"] == ("granted" if expected else "no_entitlement")
    # Half-open: valid from the first instant of the window, no longer at its end.
    assert expected == (offset >= 0 if window.endswith("starts") else offset < 0)


async def test_exactly_the_use_limit_succeeds_under_50_concurrent_checks(licensing) -> None:
    product = await licensing.product()
    eid = await seeded(licensing, product, licensing.customer.user_id, "indefinite", uses=7)
    path = f"/authorizations/products/{product}"
    replies = await asyncio.gather(*(licensing.put(path, licensing.customer) for _ in range(50)))
    statuses = sorted(r.status for r in replies)
    assert statuses == [200] * 7 + [422] * 43, statuses
    db = await licensing.db()
    assert await db.fetchval("SELECT uses_count FROM entitlements WHERE id = $1", eid) == 7
    assert await db.fetchval("SELECT authorization_count FROM claims WHERE entitlement_id = $1", eid) == 7
    counts = await db.fetch("SELECT granted, count(*) AS n FROM attempts GROUP BY granted ORDER BY granted")
    assert [(r["granted"], r["n"]) for r in counts] == [(False, 43), (True, 7)]
    assert sorted(r.body["authorization_count"] for r in replies if r.status == 200) == list(range(1, 8))


async def test_concurrent_checks_move_on_to_the_next_entitlement_when_one_runs_out(licensing) -> None:
    product, group = await licensing.product(), uuid4()
    await licensing.member(group, licensing.customer)
    own = await seeded(licensing, product, licensing.customer.user_id, "indefinite", uses=3)
    shared = await seeded(
        licensing, product, group, "indefinite", uses=4, kind="Group", owner=licensing.other_customer.user_id
    )
    path = f"/authorizations/products/{product}"
    replies = await asyncio.gather(*(licensing.put(path, licensing.customer) for _ in range(50)))
    granted = [r.body["entitlement_id"] for r in replies if r.status == 200]
    assert sorted(granted) == sorted([str(own)] * 3 + [str(shared)] * 4)
    assert sum(r.status == 422 for r in replies) == 43
    assert await (await licensing.db()).fetchval("SELECT count(*) FROM attempts") == 50


async def test_the_use_limit_is_per_entitlement_across_its_claims(licensing) -> None:
    product, group = await licensing.product(), uuid4()
    await licensing.member(group, licensing.other_customer)
    uid = licensing.customer.user_id
    eid = await seeded(licensing, product, uid, "indefinite", uses=2)
    db = await licensing.db()
    await db.execute(
        "INSERT INTO claims (id, entitlement_id, claimant_type, claimant_id) VALUES ($1, $2, 'Group', $3)",
        uuid4(),
        eid,
        group,
    )
    path = f"/authorizations/products/{product}"
    assert (await licensing.put(path, licensing.customer)).status == 200
    assert (await licensing.put(path, licensing.other_customer)).status == 200
    assert (await licensing.put(path, licensing.customer)).status == 422
    assert (await licensing.put(path, licensing.other_customer)).status == 422
    assert await db.fetchval("SELECT uses_count FROM entitlements WHERE id = $1", eid) == 2


async def test_unlimited_uses_are_still_counted(licensing) -> None:
    product = await licensing.product()
    eid = await seeded(licensing, product, licensing.customer.user_id, "indefinite", uses=0)
    path = f"/authorizations/products/{product}"
    replies = await asyncio.gather(*(licensing.put(path, licensing.customer) for _ in range(20)))
    assert {r.status for r in replies} == {200}
    assert (
        await (await licensing.db()).fetchval("SELECT uses_count FROM entitlements WHERE id = $1", eid) == 20
    )
