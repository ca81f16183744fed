"""All SQL of the usage reports: one statement per report, every number counted by PostgreSQL.

The shape of each statement (a sketch; the builders below fill in the parts):

- ``scoped``: the attempts the report covers, in [from, to) and inside the caller's scope
  and filters, each with its sharing ``source`` and fixed ``window_start``. Inlined (NOT
  MATERIALIZED) where it is read twice: the planner then estimates each use on its own
  and aggregates by hashing; a materialized CTE was estimated at 1/150 of its rows and
  sorted on disk instead (measured: slower by a third on 100k attempts).
- ``suspect``: the (claim, user, window) triples used from more than the allowed number
  of distinct sources. Group claims and checks made for a group are never judged: a
  group's licence is shared by design.
- ``fine``: counts per group key, claimant, claim and suspicion, so the costly
  ``count(DISTINCT ...)`` of ``grouped`` sorts thousands of rows, not every attempt.
- the page: the total number of groups and one page of them in a single round trip (a
  page past the end still says the total).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from hspm.common.db import Conn
from hspm.common.sql import Where
from hspm.licensing.reports.models import Filters, Rows, SharingRule, UsageQuery

Record = asyncpg.Record

# The sharing windows are fixed buckets counted from this instant (date_bin), so the same
# attempts always fall into the same windows whatever range a report asks for.
_ORIGIN = "TIMESTAMPTZ '2000-01-01 00:00:00+00'"
# A source is where a check came from: the platform when the agent names it (several
# addresses behind one platform are one installation), else the address.
_SOURCE = "coalesce(a.platform_id::text, a.address)"

# The key columns of each grouping, in the order they are shown and used to break ties.
KEYS: dict[str, tuple[str, ...]] = {
    "product": ("product_id", "product_name", "vendor_id"),
    "vendor": ("vendor_id",),
    "claimant": ("claimant_type", "claimant_id"),
    "period": ("period_start", "period_end"),
}
# What ``fine`` groups by: a product's name and vendor are looked up after counting, so the
# attempts are not joined to products (measured: the product report in half the time).
_FINE: dict[str, tuple[str, ...]] = {
    "product": ("product_id",),
    "vendor": ("vendor_id",),
    "claimant": ("claimant_type", "claimant_id"),
}
_TIES: dict[str, tuple[str, ...]] = {
    "product": ("product_id",),
    "vendor": ("vendor_id",),
    "claimant": ("claimant_type", "claimant_id"),
    "period": ("period_start",),
}
METRICS = (
    "attempts",
    "grants",
    "denials",
    "not_found",
    "distinct_claimants",
    "suspected_sharing",
    "first_at",
    "last_at",
)
_COUNTED = ", ".join(f"c.{m}" for m in METRICS)
SHARING_SORTS = ("window_start", "distinct_sources", "attempts", "first_at", "last_at")


async def usage(
    conn: Conn, q: UsageQuery, scope: list[UUID] | None, rule: SharingRule, rows: Rows
) -> tuple[list[Record], int]:
    """Some groups (``KEYS[group_by]`` + ``METRICS``) and the number of groups."""
    where = _where(q.filters, scope)
    window = _arg(where, rule.window)
    most = _arg(where, rule.max_sources)
    by_vendor = q.group_by == "vendor"
    ctes = [_scoped(where, window, by_vendor), _suspect(most), _fine(q.group_by, q.period, where)]
    ctes.append(_periods(where, q.filters, q.period) if q.group_by == "period" else _grouped(q.group_by))
    statement = "WITH " + ",\n".join(ctes) + _page(where, rows, _TIES[q.group_by])
    return _split(await conn.fetch(statement, *where.args))


async def sharing(
    conn: Conn,
    f: Filters,
    scope: list[UUID] | None,
    rule: SharingRule,
    with_sources: bool,
    rows: Rows,
) -> tuple[list[Record], int]:
    """Some suspect (claim, user, window) triples and their number."""
    where = _where(f, scope)
    window = _arg(where, rule.window)
    most = _arg(where, rule.max_sources)
    sources = _arg(where, with_sources)
    ctes = [_scoped(where, window, False), _suspect(most), _windows(window, sources)]
    ties = ("claim_id", "claimant_id", "window_start")
    statement = "WITH " + ",\n".join(ctes) + _page(where, rows, ties)
    return _split(await conn.fetch(statement, *where.args))


# --- the parts -------------------------------------------------------------------------------


def _where(f: Filters, scope: list[UUID] | None) -> Where:
    where = Where().add("a.created_at >= {}", f.start).add("a.created_at < {}", f.end)
    if scope is not None:
        # An owner's products: (product_id, created_at) serves this as an index range scan.
        where.add("a.product_id = ANY({}::uuid[])", scope)
    if f.product_id is not None:
        where.add("a.product_id = {}", f.product_id)
    if f.vendor_id is not None:
        where.add("a.product_id IN (SELECT id FROM products WHERE owner_id = {})", f.vendor_id)
    if f.claimant_type is not None:
        where.add("a.claimant_type = {}", f.claimant_type)
    return where


def _arg(where: Where, value: Any) -> str:
    """Bind one more value and name its placeholder."""
    where.args.append(value)
    return f"${len(where.args)}"


def _scoped(where: Where, window: str, with_vendor: bool) -> str:
    """The attempts covered; each with its product's vendor only when grouping by vendor."""
    vendor = "p.owner_id" if with_vendor else "NULL::uuid"
    join = "LEFT JOIN products p ON p.id = a.product_id" if with_vendor else ""
    return f"""scoped AS NOT MATERIALIZED (
    SELECT a.product_id, {vendor} AS vendor_id, a.claimant_type, a.claimant_id, a.claim_id,
           a.entitlement_id, a.granted, a.outcome, a.created_at, {_SOURCE} AS source,
           date_bin({window}::interval, a.created_at, {_ORIGIN}) AS window_start
    FROM attempts a {join}
    {where.clause}
)"""


def _suspect(most: str) -> str:
    return f"""suspect AS (
    SELECT claim_id, claimant_id, window_start
    FROM (SELECT DISTINCT claim_id, claimant_id, window_start, source FROM scoped
          WHERE claim_id IS NOT NULL AND claimant_type = 'User' AND source IS NOT NULL) AS uses
    GROUP BY claim_id, claimant_id, window_start
    HAVING count(*) > {most}::int
)"""


def _fine(group_by: str, period: str, where: Where) -> str:
    if group_by == "period":
        # Calendar buckets in UTC whatever the session's time zone: truncate the UTC wall
        # time (weeks start on Monday, as ISO 8601 has them).
        keys = f"date_trunc({_arg(where, period)}::text, s.created_at AT TIME ZONE 'UTC') AS bucket"
        names = "bucket"
    else:
        names = ", ".join(f"s.{k}" for k in _FINE[group_by])
        keys = names
    return f"""fine AS (
    SELECT {keys}, s.claimant_type AS c_type, s.claimant_id AS c_id, s.claim_id,
           x.claim_id IS NOT NULL AS suspect, count(*) AS attempts,
           count(*) FILTER (WHERE s.granted) AS grants,
           count(*) FILTER (WHERE s.outcome = 'no_entitlement') AS denials,
           count(*) FILTER (WHERE s.outcome = 'not_found') AS not_found,
           min(s.created_at) AS first_at, max(s.created_at) AS last_at
    FROM scoped s
    LEFT JOIN suspect x ON s.claimant_type = 'User' AND x.claim_id = s.claim_id
        AND x.claimant_id = s.claimant_id AND x.window_start = s.window_start
    GROUP BY {names}, s.claimant_type, s.claimant_id, s.claim_id, x.claim_id IS NOT NULL
)"""


_SUMS = """sum(attempts)::bigint AS attempts, sum(grants)::bigint AS grants,
           sum(denials)::bigint AS denials, sum(not_found)::bigint AS not_found,
           count(DISTINCT (c_type, c_id)) AS distinct_claimants,
           count(DISTINCT claim_id) FILTER (WHERE suspect) AS suspected_sharing,
           min(first_at) AS first_at, max(last_at) AS last_at"""


def _grouped(group_by: str) -> str:
    keys = ", ".join(_FINE[group_by])
    if group_by != "product":
        return f"grouped AS (\n    SELECT {keys}, {_SUMS}\n    FROM fine GROUP BY {keys}\n)"
    return f"""counted AS (
    SELECT product_id, {_SUMS} FROM fine GROUP BY product_id
),
grouped AS (
    SELECT c.product_id, p.name AS product_name, p.owner_id AS vendor_id, {_COUNTED}
    FROM counted c LEFT JOIN products p ON p.id = c.product_id
)"""


def _periods(where: Where, f: Filters, period: str) -> str:
    """Every bucket of the range, empty ones too: a series with gaps would mislead."""
    unit = _arg(where, period)
    start, end = _arg(where, f.start), _arg(where, f.end)
    step = f"('1 ' || {unit}::text)::interval"
    return f"""counted AS (
    SELECT bucket, {_SUMS} FROM fine GROUP BY bucket
),
buckets AS (
    SELECT b FROM generate_series(date_trunc({unit}::text, {start}::timestamptz AT TIME ZONE 'UTC'),
        ({end}::timestamptz AT TIME ZONE 'UTC') - interval '1 microsecond', {step}) AS b
),
grouped AS (
    SELECT b AT TIME ZONE 'UTC' AS period_start, (b + {step}) AT TIME ZONE 'UTC' AS period_end,
           coalesce(c.attempts, 0) AS attempts, coalesce(c.grants, 0) AS grants,
           coalesce(c.denials, 0) AS denials, coalesce(c.not_found, 0) AS not_found,
           coalesce(c.distinct_claimants, 0) AS distinct_claimants,
           coalesce(c.suspected_sharing, 0) AS suspected_sharing, c.first_at, c.last_at
    FROM buckets LEFT JOIN counted c ON c.bucket = buckets.b
)"""


def _windows(window: str, sources: str) -> str:
    """The suspect windows in detail; found first by ``suspect`` (hashing, the same rule
    as the usage report's), so only their attempts are sorted for the lists."""
    return f"""windows AS (
    SELECT s.claim_id, s.entitlement_id, s.claimant_type, s.claimant_id, s.window_start,
           s.window_start + {window}::interval AS window_end, count(*) AS attempts,
           count(DISTINCT s.source) AS distinct_sources,
           CASE WHEN {sources}::bool THEN (array_agg(DISTINCT s.source)
               FILTER (WHERE s.source IS NOT NULL))[1:5] END AS sources,
           array_agg(DISTINCT s.product_id) AS product_ids,
           min(s.created_at) AS first_at, max(s.created_at) AS last_at
    FROM scoped s
    JOIN suspect x ON x.claim_id = s.claim_id AND x.claimant_id = s.claimant_id
        AND x.window_start = s.window_start
    WHERE s.claimant_type = 'User'
    GROUP BY s.claim_id, s.entitlement_id, s.claimant_type, s.claimant_id, s.window_start
),
grouped AS (
    SELECT w.*, (SELECT jsonb_agg(jsonb_build_object('id', u.id, 'name', p.name) ORDER BY u.id)
                 FROM unnest(w.product_ids) AS u(id) LEFT JOIN products p ON p.id = u.id) AS products
    FROM windows w
)"""


def _page(where: Where, rows: Rows, ties: tuple[str, ...]) -> str:
    """The total and the rows asked for; the sort column is whitelisted, the order ASC or DESC."""
    column, direction = rows.sort, rows.order
    assert direction in ("ASC", "DESC") and column.isidentifier()
    lim, off = _arg(where, rows.limit), _arg(where, rows.offset)

    def order(prefix: str) -> str:
        keys = [f'{prefix}"{column}" {direction} NULLS LAST']
        keys += [f'{prefix}"{k}" ASC NULLS LAST' for k in ties if k != column]
        return ", ".join(keys)

    return f"""
SELECT t.total, g.*
FROM (SELECT count(*) AS total FROM grouped) AS t
LEFT JOIN LATERAL (SELECT * FROM grouped ORDER BY {order("")} LIMIT {lim} OFFSET {off}) AS g ON true
ORDER BY {order("g.")}"""


def _split(rows: list[Record]) -> tuple[list[Record], int]:
    """The page's rows and the total; past the end, the one row holds only the total."""
    total = int(rows[0]["total"]) if rows else 0
    return [r for r in rows if r["attempts"] is not None], total
