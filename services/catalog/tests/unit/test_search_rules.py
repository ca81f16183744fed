"""Building tsquery text from what people type."""

from __future__ import annotations

import pytest

from hspm.catalog.search.rules import MAX_TERMS, page_params, prefix_tsquery
from hspm.common.errors import ValidationFailed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fhir", "fhir:*"),
        ("FHIR  Server", "fhir:* & server:*"),
        ("a'b & c|d !e (f):*", "a:* & b:* & c:* & d:* & e:* & f:*"),
        ("fhir fhir", "fhir:*"),
        ("!!! ::: ***", None),
        ("", None),
        (None, None),
        ("Ärzte café", "ärzte:* & café:*"),
    ],
)
def test_prefix_tsquery(text: str | None, expected: str | None) -> None:
    assert prefix_tsquery(text) == expected


def test_prefix_tsquery_bounds_terms() -> None:
    words = " ".join(f"w{i}" for i in range(50))
    assert prefix_tsquery(words).count(":*") == MAX_TERMS  # type: ignore[union-attr]


def test_page_params_default_relevance_desc_with_text() -> None:
    p = page_params({}, ("relevance", "name"), has_text=True)
    assert (p.sort, p.order) == ("relevance", "DESC")
    p = page_params({}, ("relevance", "name"), has_text=False)
    assert (p.sort, p.order) == ("name", "ASC")
    with pytest.raises(ValidationFailed):
        page_params({"sort": "relevance"}, ("name",), has_text=True)
