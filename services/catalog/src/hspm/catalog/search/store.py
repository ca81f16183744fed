"""All SQL of the product index, search and facets (one statement per request), and the
license offers copy they read, kept from licensing's events.

The statement matches once: the visible products meeting the conditions no facet drops
(visibility, text, name, owner, publication) are collected as narrow rows (``m``: the
row's address, what the requested facets group by, whether it passes each facet
filter, and for the hits the sort key). The page's hits, their total and every facet
asked for are then counted from those rows, each facet leaving out its own filter (the
usual faceted-search convention: choosing one MIME type still shows how many products
the others have). The same visibility rule applies to all of them, so the page, the
total and the facets can never disagree about what a caller may see.

Relevance ranks a capped candidate set: at most ``RANK_CANDIDATES`` hits (more when the
page asked for lies further), those whose name matches first, each ranked by
``ts_rank_cd``. Only the page's rows are read whole, by address.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from asyncpg import Record

from hspm.catalog.listing import LISTED, LISTED_OR_OWNED, PRODUCT_LICENSES
from hspm.catalog.search.models import SearchQuery, Viewer
from hspm.catalog.search.rules import name_tsquery, prefix_tsquery
from hspm.catalog.stamped import Stamp
from hspm.common.db import Conn
from hspm.common.sql import Where, like_pattern

# A condition: an SQL fragment whose ``{}`` become placeholders for ``values``.
Cond = tuple[str, tuple[Any, ...]]

PRODUCT_COLS = (
    "p.id, p.user_id, p.name, p.description, p.uri, p.support_url, p.mime_type, p.locale, "
    "p.external_id, p.published_at, p.visible_at, p.created_at, p.updated_at"
)
# The simple configuration matches names as typed; the english one matches descriptions,
# which the generated column stems ("running" is stored as "run"). catalog_tsquery
# (migration 0006) OR-s the two readings, or keeps one when they are the same query; as a
# scalar subquery it runs once per statement (an InitPlan), and the plan depends on no
# parameter's value, so a prepared statement settles on one generic plan, planned once.
_TSQUERY = "(SELECT catalog_tsquery({}))"
# Relevance ranks at most this many candidates (and at least the rows up to the page
# asked for): hits whose name matches first, then the others in storage order. Ranking
# every match made a common word's cost grow with the catalog.
RANK_CANDIDATES = 500
# product_interfaces (migration 0003) counts each product's builds exposing an interface.
_PUBLISHED_EXPOSURE = "pi.published_builds > 0"
# The columns sort keys are computed from, passed up from the scan.
_KEY_SOURCES = ("p.search", "p.name", "p.created_at", "p.updated_at", "p.published_at")
# Sort keys: the expression each hit carries as ``k``, and what follows its direction.
_SORTS = {
    "name": ("lower(p.name)", ""),
    "created_at": ("p.created_at", ""),
    "updated_at": ("p.updated_at", ""),
    "published_at": ("p.published_at", " NULLS LAST"),
}
FACET_LIMIT = 50
# Read in the search's own snapshot: the generation, and when time next changes results.
_STAMP = (
    "(SELECT n FROM search_generation) AS generation, "
    "least((SELECT min(published_at) FROM products WHERE published_at > now()), "
    "(SELECT min(visible_at) FROM products WHERE visible_at > now())) AS next_change"
)


def _visible(viewer: Viewer) -> list[Cond]:
    if viewer.sees_drafts:
        return []
    if viewer.user_id is not None:
        return [(LISTED_OR_OWNED, (viewer.user_id,))]
    return [(LISTED, ())]


def _build_visible(viewer: Viewer) -> list[Cond]:
    """Unpublished builds count only for their product's owner and catalog readers."""
    if viewer.sees_drafts:
        return []
    if viewer.user_id is not None:
        return [(f"({_PUBLISHED_EXPOSURE} OR p.user_id = {{}})", (viewer.user_id,))]
    return [(_PUBLISHED_EXPOSURE, ())]


def _base(q: SearchQuery, viewer: Viewer) -> list[Cond]:
    """Visibility, text, name, owner and publication: the conditions no facet drops."""
    conds = _visible(viewer)
    tsq = prefix_tsquery(q.text)
    if tsq is not None:
        conds.append((f"p.search @@ {_TSQUERY}", (tsq,)))
    elif q.text and q.text.strip():
        # Punctuation only ("C++", "+++"): no lexeme to search for, so match the name.
        conds.append(("lower(p.name) LIKE {}", (like_pattern(q.text.strip()),)))
    if q.name:
        conds.append(("lower(p.name) LIKE {}", (like_pattern(q.name),)))
    if q.user_id is not None:
        conds.append(("p.user_id = {}", (q.user_id,)))
    # Only callers who can see drafts can tell published from unpublished products.
    if q.published is not None and (viewer.sees_drafts or viewer.user_id is not None):
        published = "(p.published_at IS NOT NULL AND p.published_at <= now())"
        conds.append((published if q.published else f"NOT coalesce({published}, false)", ()))
    return conds


def _facet_filters(q: SearchQuery, viewer: Viewer) -> dict[str, list[Cond]]:
    """The filters that have a facet, by facet name."""
    filters: dict[str, list[Cond]] = {"mime_type": [], "interface": [], "badge": [], "license": []}
    if q.mime_types:
        filters["mime_type"].append(("p.mime_type = ANY({}::text[])", (list(q.mime_types),)))
    if q.interface_id is not None:
        builds = " AND ".join(c for c, _ in _build_visible(viewer)) or "true"
        args = tuple(v for _, vs in _build_visible(viewer) for v in vs)
        filters["interface"].append(
            (
                "EXISTS (SELECT 1 FROM product_interfaces pi "
                f"WHERE pi.product_id = p.id AND pi.interface_id = {{}} AND {builds})",
                (q.interface_id, *args),
            )
        )
    if q.badge_id is not None:
        filters["badge"].append(
            (
                "EXISTS (SELECT 1 FROM badge_awards a WHERE a.product_id = p.id AND a.badge_id = {})",
                (q.badge_id,),
            )
        )
    if q.license_id is not None:
        filters["license"].append(
            (
                "EXISTS (SELECT 1 FROM product_license_offers o "
                "WHERE o.product_id = p.id AND o.license_id = {})",
                (q.license_id,),
            )
        )
    return filters


def _where(conds: Iterable[Cond]) -> Where:
    where = Where()
    for fragment, values in conds:
        where.add(fragment, *values)
    return where


def _sort_key(q: SearchQuery) -> tuple[str, str]:
    """The sort key each match carries, and how hits are ordered by it."""
    names = name_tsquery(q.text)
    if q.page.sort == "relevance" and prefix_tsquery(q.text) is not None and names is not None:
        return "p.search @@ (SELECT to_tsquery('simple', {}))", "k DESC, t"
    column, nulls = _SORTS.get(q.page.sort, _SORTS["name"])
    return column, f"k {q.page.order}{nulls}, id"


def _and(where: Where, conds: Iterable[Cond]) -> str:
    """``conds`` numbered after ``where``'s arguments, as one AND-ed clause (or true)."""
    parts = []
    for fragment, values in conds:
        for value in values:
            where.args.append(value)
            fragment = fragment.replace("{}", f"${len(where.args)}", 1)
        parts.append(fragment)
    return " AND ".join(parts) or "true"


def _m(
    q: SearchQuery, viewer: Viewer, filters: dict[str, list[Cond]], facets: tuple[str, ...]
) -> tuple[str, Where, str]:
    """The shared match ``m``, its arguments, and the order of its hits.

    Each of ``m``'s rows says which facet filters it passes (``f_mime_type``...), each
    filter evaluated once; the sort key ``k`` is computed for hits only. Rows carry only
    the columns this request reads: every column is paid for on every match.
    """
    key, order = _sort_key(q)
    where = _where(_base(q, viewer))
    keep = ["t"]
    if not order.startswith("k DESC, t") or set(facets) - {"mime_type"}:
        keep.append("id")  # the page by a column (id breaks ties), facets joined on products
    if "mime_type" in facets:
        keep.append("mime_type")
    if "interface" in facets and viewer.user_id is not None:
        keep.append("user_id")  # an owner's unpublished builds count for them
    cols = ["p.ctid AS t", *(f"p.{c}" for c in keep[1:])]
    for name, conds in filters.items():
        if conds:
            cols.append(f"({_and(where, conds)}) AS f_{name}")
            keep.append(f"f_{name}")
    if "{}" in key:
        where.args.append(name_tsquery(q.text))
        key = key.replace("{}", f"${len(where.args)}")
    hit = " AND ".join(c for c in keep if c.startswith("f_")) or "true"
    out = [*keep, f"CASE WHEN {hit} THEN {key} END AS k"]
    sources = [c for c in _KEY_SOURCES if c in key]
    if order.startswith("k DESC, t"):
        # What ranking reads, for hits only: no second visit to their rows.
        out += [f"CASE WHEN {hit} THEN p.search END AS s", f"CASE WHEN {hit} THEN p.name END AS n"]
        sources = ["p.search", "p.name"]
    # OFFSET 0 keeps the scan a subquery: pulled up, each filter would be computed twice.
    sql = (
        f"SELECT {', '.join(out)} "
        f"FROM (SELECT {', '.join(cols + sources)} FROM products p {where.clause} OFFSET 0) p"
    )
    return sql, where, order


def _facet_sql(facet: str, where: Where, others: str, viewer: Viewer) -> str:
    """One facet's rows as JSON: ``value``/``id``, ``name`` and ``count``, most first."""
    where.args.append(FACET_LIMIT)
    limit = f"${len(where.args)}"
    if facet == "mime_type":
        sql = (
            "SELECT p.mime_type AS value, count(*) AS count FROM m p "
            f"WHERE p.mime_type IS NOT NULL AND {others} GROUP BY p.mime_type ORDER BY count DESC, value"
        )
    elif facet == "badge":
        sql = (
            "SELECT b.id, b.name, count(*) AS count FROM m p "
            "JOIN badge_awards a ON a.product_id = p.id JOIN badges b ON b.id = a.badge_id "
            f"WHERE {others} GROUP BY b.id ORDER BY count DESC, b.name"
        )
    elif facet == "license":
        sql = (
            "SELECT o.license_id AS id, max(o.license_name) AS name, count(*) AS count FROM m p "
            f"JOIN product_license_offers o ON o.product_id = p.id WHERE {others} "
            "GROUP BY o.license_id ORDER BY count DESC, name"
        )
    elif facet == "interface":
        builds = _and(where, _build_visible(viewer))
        sql = (
            "SELECT i.id, i.name, count(*) AS count FROM m p "
            "JOIN product_interfaces pi ON pi.product_id = p.id "
            f"JOIN interfaces i ON i.id = pi.interface_id WHERE {others} AND {builds} "
            "GROUP BY i.id ORDER BY count DESC, i.name"
        )
    else:
        raise ValueError(f"unknown facet {facet!r}")
    return f"(SELECT coalesce(json_agg(f), '[]') FROM ({sql} LIMIT {limit}) f)"


def _page_sql(q: SearchQuery, where: Where, order: str) -> str:
    """The page's row addresses in order: ranked candidates by relevance, else hits by key."""
    where.args.extend((q.page.per_page, q.page.offset))
    limit, offset = f"${len(where.args) - 1}", f"${len(where.args)}"
    if not order.startswith("k DESC, t"):
        return f"SELECT t FROM hits ORDER BY {order} LIMIT {limit} OFFSET {offset}"
    where.args.extend((max(RANK_CANDIDATES, q.page.offset + q.page.per_page), prefix_tsquery(q.text)))
    cap, tsq = f"${len(where.args) - 1}", f"${len(where.args)}"
    rank = f"ts_rank_cd(c.s, (SELECT catalog_tsquery({tsq}))) {q.page.order}, lower(c.n), c.t"
    return (
        f"SELECT c.t FROM (SELECT t, s, n FROM hits ORDER BY {order} LIMIT {cap}) c "
        f"ORDER BY {rank} LIMIT {limit} OFFSET {offset}"
    )


async def search(
    conn: Conn, query: SearchQuery, viewer: Viewer, facets: tuple[str, ...] = ()
) -> tuple[list[Record], int, dict[str, list[Any]], Stamp]:
    """One page of products (with ``listed``, badge ids and names), the total, the facets
    and the stamp of the snapshot they were read in.

    An empty page comes back as one row of NULL product columns carrying the total and
    the facets; it is returned as no rows.
    """
    filters = _facet_filters(query, viewer)
    m, where, order = _m(query, viewer, filters, facets)
    flags = {name: f"f_{name}" for name, conds in filters.items() if conds}
    hits = " AND ".join(flags.values()) or "true"
    facet_sql = ", ".join(
        f"{_facet_sql(f, where, ' AND '.join(v for g, v in flags.items() if g != f) or 'true', viewer)}"
        f" AS facet_{f}"
        for f in facets
    )
    page = _page_sql(query, where, order)
    sql = f"""
        WITH m AS MATERIALIZED ({m}),
             hits AS {"" if flags else "NOT "}MATERIALIZED (SELECT * FROM m p WHERE {hits}),
             page AS (SELECT * FROM unnest(ARRAY({page})) WITH ORDINALITY AS x(t, position))
        SELECT s.*, r.* FROM (SELECT (SELECT count(*) FROM hits) AS total_count, {_STAMP}
                              {", " if facets else ""}{facet_sql}) s
        LEFT JOIN (
            SELECT {PRODUCT_COLS}, {LISTED} AS listed, page.position,
                   ARRAY(SELECT b.id FROM badge_awards a JOIN badges b ON b.id = a.badge_id
                         WHERE a.product_id = p.id ORDER BY b.name) AS badge_ids,
                   ARRAY(SELECT b.name FROM badge_awards a JOIN badges b ON b.id = a.badge_id
                         WHERE a.product_id = p.id ORDER BY b.name) AS badge_names,
                   {PRODUCT_LICENSES} AS product_licenses
            FROM page JOIN products p ON p.ctid = page.t) r ON true
        ORDER BY r.position"""
    rows = await conn.fetch(sql, *where.args)
    first = rows[0]
    found = {f: first[f"facet_{f}"] for f in facets}
    stamp = Stamp(first["generation"], first["next_change"])
    return ([] if first["id"] is None else list(rows)), int(first["total_count"]), found, stamp


# --- the license offers copy -----------------------------------------------------------

# One product license's offer and withdrawal take turns: without it, an offer could miss
# a concurrent withdrawal's uncommitted tombstone and bring the offer back.
_TURN = "SELECT pg_advisory_xact_lock(hashtextextended($1::uuid::text, 0))"
# Kept for a product the catalog has, unless withdrawn already or older than the offer
# the row holds; a second offer of the same license (a rename, a new product license
# after a withdrawal) replaces the row.
_OFFER = """
    INSERT INTO product_license_offers AS o
        (product_id, license_id, license_name, product_license_id, offered_at)
    SELECT p.id, $2::uuid, $3::text, $4::uuid, $5::timestamptz FROM products p
    WHERE p.id = $1
      AND NOT EXISTS (SELECT 1 FROM withdrawn_product_licenses w WHERE w.product_license_id = $4)
    ON CONFLICT (product_id, license_id) DO UPDATE
    SET license_name = EXCLUDED.license_name,
        product_license_id = EXCLUDED.product_license_id,
        offered_at = EXCLUDED.offered_at
    WHERE o.offered_at IS NULL OR o.offered_at <= EXCLUDED.offered_at
    RETURNING o.product_id"""
# The tombstone, and the offer if it is still this product license's (a row written by
# hand has none and goes too).
_WITHDRAW = """
    WITH tombstone AS (
        INSERT INTO withdrawn_product_licenses (product_license_id) VALUES ($3)
        ON CONFLICT DO NOTHING
    )
    DELETE FROM product_license_offers
    WHERE product_id = $1 AND license_id = $2 AND coalesce(product_license_id, $3) = $3
    RETURNING product_id"""


async def offer_license(
    conn: Conn, product_license_id: UUID, product_id: UUID, license_id: UUID, name: str, at: datetime
) -> bool:
    """Upsert the offer; False when nothing was written (unknown product, withdrawn, stale)."""
    await conn.execute(_TURN, product_license_id)
    row = await conn.fetchrow(_OFFER, product_id, license_id, name, product_license_id, at)
    return row is not None


async def withdraw_license(conn: Conn, product_license_id: UUID, product_id: UUID, license_id: UUID) -> bool:
    """Remember the withdrawal and delete the offer if present; True when a row went."""
    await conn.execute(_TURN, product_license_id)
    row = await conn.fetchrow(_WITHDRAW, product_id, license_id, product_license_id)
    return row is not None
