"""SemVer ranges for recalls."""

from __future__ import annotations

import pytest

from hspm.curation.recalls.versions import RangeError, parse_range


@pytest.mark.parametrize(
    ("text", "inside", "outside"),
    [
        (">=1.0.0 <1.2.3", ["1.0.0", "1.1.9", "1.2.3-rc.1", "1.2.2+build.7"], ["0.9.9", "1.2.3", "2.0.0"]),
        ("1.4.2", ["1.4.2", "1.4.2+meta"], ["1.4.3", "1.4.2-rc.1"]),
        ("=1.4.2", ["1.4.2"], ["1.4.1"]),
        ("== 1.4.2", ["1.4.2"], ["1.4.1"]),
        (">= 1.0.0 <= 1.0.5", ["1.0.5"], ["1.0.6"]),
        ("<1.0.0 || >=3.0.0-rc.1", ["0.1.0", "3.0.0-rc.1", "4.0.0"], ["1.0.0", "2.9.9"]),
        ("!=2.0.0 >1.0.0", ["1.5.0", "2.0.1"], ["2.0.0", "1.0.0"]),
    ],
)
def test_matching(text, inside, outside) -> None:
    wanted = parse_range(text)
    assert [v for v in inside if not wanted.matches(v)] == []
    assert [v for v in outside if wanted.matches(v)] == []


def test_non_semver_versions_match_nothing() -> None:
    assert not parse_range(">=0.0.0").matches("2024-spring")
    assert not parse_range(">=0.0.0").matches("latest")


@pytest.mark.parametrize(
    "text", ["", "   ", ">=1.0", "1.0.0 ||", "|| 1.0.0", "~1.2.3", "^1.0.0", ">=<1.0.0", "x" * 501]
)
def test_refused(text) -> None:
    with pytest.raises(RangeError):
        parse_range(text)
