"""Pure rules of the product index and search: query text, default order, facet names."""

from __future__ import annotations

import re
from collections.abc import Mapping

from hspm.common.paging import PageParams

# Words only: whatever else a caller types (quotes, '&', '|', '!', ':', parentheses) is
# tsquery syntax and would either fail to parse or change the query's meaning.
_WORD = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 12
MAX_TERM_LENGTH = 64
FACETS = ("mime_type", "interface", "badge", "license")


def _terms(text: str | None) -> list[str]:
    terms: list[str] = []
    for word in _WORD.findall((text or "").lower()):
        word = word.strip("_")[:MAX_TERM_LENGTH]
        if word and word not in terms:
            terms.append(word)
    return terms[:MAX_TERMS]


def prefix_tsquery(text: str | None) -> str | None:
    """``'fhir serv'`` → ``'fhir:* & serv:*'``; None when the text holds no word at all."""
    terms = _terms(text)
    return " & ".join(f"{t}:*" for t in terms) if terms else None


def name_tsquery(text: str | None) -> str | None:
    """The same prefixes, matched in the name only (weight A): ``'fhir:*A & serv:*A'``."""
    terms = _terms(text)
    return " & ".join(f"{t}:*A" for t in terms) if terms else None


def page_params(query: Mapping[str, str], sortable: tuple[str, ...], has_text: bool) -> PageParams:
    """Relevance (best first) when there is text to rank by, else name A→Z."""
    default_sort = "relevance" if has_text and "relevance" in sortable else "name"
    sort = query.get("sort") or default_sort
    default_order = "desc" if sort == "relevance" else "asc"
    return PageParams.parse(query, sortable, default_sort, default_order)
