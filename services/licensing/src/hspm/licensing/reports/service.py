"""Rules of the usage reports: who may read which numbers, and the reports themselves.

Auditors and staff (``attempts.read``) read every attempt. A vendor (ISV) reads only the
attempts on products it owns, so its vendor grouping shows itself alone; asking by the id
of someone else's product or vendor is a 404, exactly as for an id that does not exist,
so the ids cannot be probed. Everyone else is refused (403; anonymous 401) before any
report query runs. Addresses (the sources of suspected sharing) are personal data: only
``attempts.read`` holders see them; a vendor sees how many there were.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import asyncpg

from hspm.common.auth import Principal
from hspm.common.db import Conn
from hspm.common.errors import Forbidden, NotFound, Unauthorized
from hspm.licensing.directory import service as directory
from hspm.licensing.reports import store
from hspm.licensing.reports.models import Filters, Rows, SharingRule, UsageQuery

Record = asyncpg.Record

SHARING_SORTS = store.SHARING_SORTS


@dataclass(frozen=True)
class Scope:
    """What the caller may read: every product (None) or these, and whether addresses."""

    products: list[UUID] | None
    sees_sources: bool


def usage_columns(group_by: str) -> tuple[str, ...]:
    """A usage report's columns, which are also what it sorts by: the key, then the numbers."""
    return (*store.KEYS[group_by], *store.METRICS)


def default_sort(group_by: str) -> tuple[str, str]:
    """A time series reads forwards; any other grouping, busiest first."""
    return ("period_start", "asc") if group_by == "period" else ("attempts", "desc")


async def usage(
    conn: Conn, p: Principal, q: UsageQuery, rule: SharingRule, rows: Rows
) -> tuple[list[Record], int]:
    """The usage report: one row per group, with the number of groups."""
    scope = await scope_of(conn, p, q.filters)
    return await store.usage(conn, q, scope.products, rule, rows)


async def sharing(
    conn: Conn, p: Principal, f: Filters, rule: SharingRule, rows: Rows
) -> tuple[list[Record], int]:
    """The suspect (claim, user, window) triples behind ``suspected_sharing``."""
    scope = await scope_of(conn, p, f)
    return await store.sharing(conn, f, scope.products, rule, scope.sees_sources, rows)


async def scope_of(conn: Conn, p: Principal, f: Filters) -> Scope:
    """The caller's right to read reports, checked before any report query runs."""
    if p.is_anonymous:
        raise Unauthorized("You are not authorized, sorry! Sign in first.")
    if p.can("attempts", "read"):
        return Scope(None, sees_sources=True)
    refused = Forbidden("Usage reports are for auditors, staff and the vendors of the products.")
    # A token scoped without attempts.read narrows the owner's rights away: nothing to look up.
    if p.user_id is None or not p.may_as_owner("attempts", "read", p.user_id):
        raise refused
    owned = await directory.products_owned_by(conn, p.user_id)
    if not owned:
        raise refused
    if f.product_id is not None and f.product_id not in owned:
        raise NotFound("Product not found.")
    if f.vendor_id is not None and f.vendor_id != p.user_id:
        raise NotFound("Vendor not found.")
    return Scope(owned, sees_sources=False)
