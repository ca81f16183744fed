"""What the commands print and the exit code each failure gets (pure functions)."""

from __future__ import annotations

import json

import pytest

from hspm.client.api import ApiError
from hspm.client.cli.output import EXPIRED, NOT_SIGNED_IN, Exit, cell, explain, record, render_json, table


class TestExplain:
    def test_no_token_says_how_to_sign_in(self):
        failure = explain(ApiError(401, "Unauthorized"), signed_in=False)
        assert failure.code == Exit.AUTH and failure.message == NOT_SIGNED_IN

    def test_a_refused_token_says_to_sign_in_again(self):
        failure = explain(ApiError(401, "Unauthorized"), signed_in=True)
        assert failure.code == Exit.AUTH and failure.message == EXPIRED

    def test_forbidden_is_an_auth_error_with_the_apis_words(self):
        failure = explain(ApiError(403, "You may not read reviews."), signed_in=True)
        assert failure.code == Exit.AUTH and "You may not read reviews." in failure.message

    def test_field_errors_are_listed_by_field(self):
        error = ApiError(422, "x", {"support_url": ["is not a URL"], "name": ["too long", "bad"]})
        failure = explain(error, signed_in=True)
        assert failure.code == Exit.USAGE
        assert failure.message.splitlines() == [
            "the marketplace refused the input:",
            "  name: too long",
            "  name: bad",
            "  support_url: is not a URL",
        ]

    @pytest.mark.parametrize(
        ("status", "code"),
        [
            (0, Exit.UNAVAILABLE),
            (404, Exit.NOT_FOUND),
            (409, Exit.FAILED),
            (422, Exit.USAGE),
            (429, Exit.UNAVAILABLE),
            (500, Exit.UNAVAILABLE),
            (503, Exit.UNAVAILABLE),
        ],
    )
    def test_codes(self, status, code):
        assert explain(ApiError(status, "detail"), signed_in=True).code == code

    def test_exit_codes_are_the_documented_ones(self):
        assert [int(e) for e in Exit] == [0, 1, 2, 3, 4, 5, 6]


class TestRendering:
    def test_table_aligns_columns_and_shows_nothing_as_a_dash(self):
        rows = [{"id": "1", "name": "Alpha", "status": None}, {"id": "22", "name": "B", "status": "ok"}]
        assert table(rows, ["id", "name", "status"]).splitlines() == [
            "ID  NAME   STATUS",
            "1   Alpha  -",
            "22  B      ok",
        ]

    def test_empty_table(self):
        assert table([], ["id"], "(none here)") == "(none here)\n"

    def test_cells_never_break_a_line(self):
        assert cell("two\nlines") == "two lines"
        assert cell([1, None]) == "1, -"
        assert cell(True) == "yes"

    def test_record_shows_only_present_keys_in_order(self):
        assert record({"b": 2, "a": 1, "c": 3}, ["a", "b", "z"]) == "a: 1\nb: 2\n"

    def test_json_is_stable(self):
        assert json.loads(render_json({"b": 1, "a": [1]})) == {"a": [1], "b": 1}
        assert render_json({"b": 1, "a": 2}).index('"a"') < render_json({"b": 1, "a": 2}).index('"b"')
