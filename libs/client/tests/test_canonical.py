"""Canonical JSON (RFC 8785): key order, strings, numbers, nesting, refusals."""

from __future__ import annotations

import json
import struct

import pytest

from hspm.client.canonical import CanonicalError, canonical, number


def test_keys_sort_by_utf16_code_units_not_code_points() -> None:
    # U+1F600 is a surrogate pair (D83D DE00), which sorts below U+FB33 in UTF-16.
    doc = {"\ufb33": 3, "\U0001f600": 2, "é": 1, "b": 0, "a": 0, "B": 0}
    assert canonical(doc) == '{"B":0,"a":0,"b":0,"é":1,"\U0001f600":2,"\ufb33":3}'.encode()


def test_no_whitespace_and_nested_objects_sort_too() -> None:
    doc = {"z": [{"b": 1, "a": [True, False, None]}], "a": {"d": {}, "c": []}}
    assert canonical(doc) == b'{"a":{"c":[],"d":{}},"z":[{"a":[true,false,null],"b":1}]}'


def test_strings_escape_only_what_json_requires() -> None:
    text = 'q"b\\\b\f\n\r\t\x00\x1f\x7f€/\u2028'
    expected = '"q\\"b\\\\\\b\\f\\n\\r\\t\\u0000\\u001f\x7f€/\u2028"'.encode()
    assert canonical(text) == expected


def test_output_is_utf8() -> None:
    assert canonical("Zürich ✓") == '"Zürich ✓"'.encode()


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1"),
        (-0.0, "0"),
        (0, "0"),
        (100, "100"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (123e-20, "1.23e-18"),
        (0.000001, "0.000001"),
        (1e-7, "1e-7"),
        (4.5, "4.5"),
        (2**53, "9007199254740992"),
        (2**60, "1152921504606847000"),
        (-1.5e300, "-1.5e+300"),
    ],
)
def test_numbers_format_as_ecmascript(value: float, text: str) -> None:
    assert number(value) == text


# Vectors from RFC 8785 appendix B: IEEE-754 bits and their ECMAScript text.
RFC_VECTORS = {
    0x0000000000000001: "5e-324",
    0x7FEFFFFFFFFFFFFF: "1.7976931348623157e+308",
    0x4430000000000000: "295147905179352830000",
    0x44B52D02C7E14AF5: "9.999999999999997e+22",
    0x44B52D02C7E14AF6: "1e+23",
    0x444B1AE4D6E2EF50: "1e+21",
    0x3EB0C6F7A0B5ED8C: "9.999999999999997e-7",
    0x3EB0C6F7A0B5ED8D: "0.000001",
    0x41B3DE4355555553: "333333333.3333332",
    0xBECBF647612F3696: "-0.0000033333333333333333",
    0x43143FF3C1CB0959: "1424953923781206.2",
}


@pytest.mark.parametrize(("bits", "text"), RFC_VECTORS.items())
def test_rfc8785_number_vectors(bits: int, text: str) -> None:
    assert number(struct.unpack(">d", struct.pack(">Q", bits))[0]) == text


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_nan_and_infinity_are_refused(bad: float) -> None:
    with pytest.raises(CanonicalError):
        canonical({"x": [bad]})


def test_lone_surrogates_and_non_json_values_are_refused() -> None:
    with pytest.raises(CanonicalError):
        canonical("\ud800")
    with pytest.raises(CanonicalError):
        canonical({"x": {1, 2}})
    with pytest.raises(CanonicalError):
        canonical({1: "key is not a string"})


def test_order_and_spacing_of_the_source_do_not_matter() -> None:
    one = json.loads(b'{ "b" : [1.0, 2], "a" : "x" }')
    two = json.loads(b'{"a":"x","b":[1,2.00]}')
    assert canonical(one) == canonical(two) == b'{"a":"x","b":[1,2]}'


def test_canonical_form_is_a_fixed_point() -> None:
    doc = {"n": [1e21, 0.1, -7], "s": "é\n", "o": {"k": None}}
    once = canonical(doc)
    assert canonical(json.loads(once)) == once
