"""All SQL of the product index, search and facets.

Every function takes a ``SearchQuery`` and a ``Viewer`` and applies the same visibility
rule, so the index, the search and each facet can never disagree about what a caller
may see. Facet counts leave out the facet's own filter (the usual faceted-search
convention: choosing one MIME type still shows how many products the others have).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from asyncpg import Record

from hspm.catalog.listing import LISTED, LISTED_OR_OWNED
from hspm.catalog.search.models import SearchQuery, Viewer
from hspm.catalog.search.rules import prefix_tsquery
from hspm.common.db import Conn
from hspm.common.sql import Where, like_pattern

# A condition: an SQL fragment whose ``{}`` become placeholders for ``values``.
Cond = tuple[str, tuple[Any, ...]]

PRODUCT_COLS = (
    "p.id, p.user_id, p.name, p.description, p.uri, p.support_url, p.mime_type, p.locale, "
    "p.external_id, p.published_at, p.visible_at, p.created_at, p.updated_at"
)
# The simple configuration matches names as typed; the english one matches descriptions,
# which the generated column stems ("running" is stored as "run").
_TSQUERY = "(to_tsquery('simple', {}) || to_tsquery('english', {}))"
# product_interfaces (migration 0003) counts each product's builds exposing an interface.
_PUBLISHED_EXPOSURE = "pi.published_builds > 0"
_SORTS = {
    "name": "lower(p.name) {order}",
    "created_at": "p.created_at {order}",
    "updated_at": "p.updated_at {order}",
    "published_at": "p.published_at {order} NULLS LAST",
}
FACET_LIMIT = 50


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
        conds.append((f"p.search @@ {_TSQUERY}", (tsq, tsq)))
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


def _conditions(q: SearchQuery, viewer: Viewer, leave_out: str | None = None) -> list[Cond]:
    conds = _base(q, viewer)
    for facet, filters in _facet_filters(q, viewer).items():
        if facet != leave_out:
            conds.extend(filters)
    return conds


def _order_by(q: SearchQuery, where: Where) -> str:
    """ORDER BY from the whitelisted sort; relevance needs the query text as a parameter."""
    order = q.page.order
    tsq = prefix_tsquery(q.text)
    if q.page.sort == "relevance" and tsq is not None:
        where.args.extend((tsq, tsq))
        n = len(where.args)
        rank = f"ts_rank_cd(p.search, (to_tsquery('simple', ${n - 1}) || to_tsquery('english', ${n})))"
        return f"{rank} {order}, lower(p.name), p.id"
    return f"{_SORTS.get(q.page.sort, _SORTS['name']).format(order=order)}, p.id"


async def search_products(conn: Conn, query: SearchQuery, viewer: Viewer) -> tuple[list[Record], int]:
    """One page of matching products (with ``listed``, badge ids and names) and the total."""
    where = _where(_conditions(query, viewer))
    count_args = list(where.args)
    order_by = _order_by(query, where)
    n = len(where.args)
    # The page is cut first, so badges are only looked up for the rows returned; the
    # window count rides along, saving a second pass over the matches.
    sql = f"""
        SELECT p.*, {LISTED} AS listed,
               ARRAY(SELECT b.id FROM badge_awards a JOIN badges b ON b.id = a.badge_id
                     WHERE a.product_id = p.id ORDER BY b.name) AS badge_ids,
               ARRAY(SELECT b.name FROM badge_awards a JOIN badges b ON b.id = a.badge_id
                     WHERE a.product_id = p.id ORDER BY b.name) AS badge_names
        FROM (SELECT {PRODUCT_COLS}, count(*) OVER () AS total_count,
                     row_number() OVER (ORDER BY {order_by}) AS position
              FROM products p {where.clause}
              ORDER BY {order_by} LIMIT ${n + 1} OFFSET ${n + 2}) p
        ORDER BY p.position"""
    rows = await conn.fetch(sql, *where.args, query.page.per_page, query.page.offset)
    if rows:
        return list(rows), int(rows[0]["total_count"])
    # A page past the end has no row to carry the count.
    total = await conn.fetchval(f"SELECT count(*) FROM products p {where.clause}", *count_args)
    return [], int(total)


async def facet_counts(conn: Conn, query: SearchQuery, viewer: Viewer, facet: str) -> list[Record]:
    """``value``/``id``, ``name`` and ``count`` of one facet, most frequent first."""
    where = _where(_conditions(query, viewer, leave_out=facet))
    n = len(where.args)
    if facet == "mime_type":
        where.add("p.mime_type IS NOT NULL")
        sql = (
            f"SELECT p.mime_type AS value, count(*) AS count FROM products p {where.clause} "
            f"GROUP BY p.mime_type ORDER BY count DESC, value LIMIT ${n + 1}"
        )
    elif facet == "badge":
        sql = (
            "SELECT b.id, b.name, count(*) AS count FROM products p "
            "JOIN badge_awards a ON a.product_id = p.id JOIN badges b ON b.id = a.badge_id "
            f"{where.clause} GROUP BY b.id ORDER BY count DESC, b.name LIMIT ${n + 1}"
        )
    elif facet == "license":
        sql = (
            "SELECT o.license_id AS id, max(o.license_name) AS name, count(*) AS count FROM products p "
            f"JOIN product_license_offers o ON o.product_id = p.id {where.clause} "
            f"GROUP BY o.license_id ORDER BY count DESC, name LIMIT ${n + 1}"
        )
    elif facet == "interface":
        for fragment, values in _build_visible(viewer):
            where.add(fragment, *values)
        n = len(where.args)
        sql = (
            "SELECT i.id, i.name, count(*) AS count FROM products p "
            "JOIN product_interfaces pi ON pi.product_id = p.id "
            f"JOIN interfaces i ON i.id = pi.interface_id {where.clause} "
            f"GROUP BY i.id ORDER BY count DESC, i.name LIMIT ${n + 1}"
        )
    else:
        raise ValueError(f"unknown facet {facet!r}")
    return list(await conn.fetch(sql, *where.args, FACET_LIMIT))
