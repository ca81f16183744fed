"""The index parameters (page, per_page, sort, order) and the paging envelope."""

from __future__ import annotations

import pytest

from hspm.common.errors import ValidationFailed
from hspm.common.paging import DEFAULT_PER_PAGE, MAX_PER_PAGE, PageParams, page_envelope

SORTABLE = ("name", "created_at")


def parse(**query: str) -> PageParams:
    return PageParams.parse(query, SORTABLE, default_sort="name")


def params(page: int = 1, per_page: int = 10) -> PageParams:
    return PageParams(page=page, per_page=per_page, sort="name", order="ASC")


class TestParams:
    def test_defaults(self) -> None:
        assert parse() == PageParams(page=1, per_page=DEFAULT_PER_PAGE, sort="name", order="ASC")
        assert DEFAULT_PER_PAGE == 10

    def test_empty_values_mean_defaults(self) -> None:
        assert parse(page="", per_page="", sort="", order="") == parse()

    def test_explicit_values(self) -> None:
        got = parse(page="3", per_page="25", sort="created_at", order="desc")
        assert got == PageParams(page=3, per_page=25, sort="created_at", order="DESC")
        assert got.offset == 50

    def test_default_order_is_honoured(self) -> None:
        got = PageParams.parse({}, SORTABLE, default_sort="created_at", default_order="desc")
        assert (got.sort, got.order) == ("created_at", "DESC")

    @pytest.mark.parametrize(
        ("given", "order"),
        [
            ("asc", "ASC"),
            ("ascending", "ASC"),
            ("desc", "DESC"),
            ("descending", "DESC"),
            ("DESC", "DESC"),
            ("Ascending", "ASC"),
        ],
    )
    def test_order_spellings(self, given: str, order: str) -> None:
        assert parse(order=given).order == order

    def test_per_page_at_the_maximum_is_accepted(self) -> None:
        assert parse(per_page=str(MAX_PER_PAGE)).per_page == MAX_PER_PAGE


class TestParamsRejected:
    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ({"page": "0"}, "page"),
            ({"page": "-1"}, "page"),
            ({"page": "two"}, "page"),
            ({"page": "1.5"}, "page"),
            ({"per_page": "0"}, "per_page"),
            ({"per_page": "lots"}, "per_page"),
            ({"per_page": str(MAX_PER_PAGE + 1)}, "per_page"),
            # int() accepts these; a page number must be plain digits.
            ({"page": "1_000"}, "page"),
            ({"page": " 5"}, "page"),
            ({"page": "+3"}, "page"),
            # The offset would overflow PostgreSQL's bigint (was a 500).
            ({"page": "999999999"}, "page"),
            ({"sort": "password"}, "sort"),
            ({"sort": "name; DROP TABLE users"}, "sort"),
            ({"order": "sideways"}, "order"),
        ],
    )
    def test_bad_value_names_its_field(self, query: dict[str, str], field: str) -> None:
        with pytest.raises(ValidationFailed) as info:
            parse(**query)
        assert list(info.value.errors) == [field]
        assert info.value.status == 422

    def test_every_bad_field_is_reported(self) -> None:
        with pytest.raises(ValidationFailed) as info:
            parse(page="x", per_page="-3", sort="nope", order="up")
        assert set(info.value.errors) == {"page", "per_page", "sort", "order"}
        assert info.value.problem()["errors"] == info.value.errors


class TestEnvelope:
    def test_empty(self) -> None:
        assert page_envelope([], 0, params()) == {
            "results": [],
            "total_entries": 0,
            "total_results": 0,
            "total_pages": 0,
            "current_page": 1,
            "previous_page": None,
            "next_page": None,
            "per_page": 10,
        }

    def test_first_of_several_pages(self) -> None:
        env = page_envelope(list(range(10)), 25, params(page=1))
        assert (env["total_pages"], env["previous_page"], env["next_page"]) == (3, None, 2)

    def test_middle_page(self) -> None:
        env = page_envelope(list(range(10)), 25, params(page=2))
        assert (env["previous_page"], env["next_page"]) == (1, 3)

    def test_last_page_has_no_next(self) -> None:
        env = page_envelope(list(range(5)), 25, params(page=3))
        assert (env["current_page"], env["previous_page"], env["next_page"]) == (3, 2, None)
        assert env["results"] == [0, 1, 2, 3, 4]

    def test_exactly_full_pages(self) -> None:
        env = page_envelope(list(range(10)), 20, params(page=2))
        assert (env["total_pages"], env["next_page"]) == (2, None)

    def test_page_past_the_end_is_empty_with_a_previous_page(self) -> None:
        env = page_envelope([], 25, params(page=7))
        assert env["results"] == []
        assert (env["total_pages"], env["previous_page"], env["next_page"]) == (3, 6, None)

    def test_total_results_for_the_reference_agent(self) -> None:
        # The reference agent reads total_results; total_entries stays the canonical key.
        env = page_envelope(list(range(10)), 25, params(page=1))
        assert env["total_results"] == env["total_entries"] == 25

    def test_results_become_a_list(self) -> None:
        assert page_envelope((1, 2), 2, params())["results"] == [1, 2]
