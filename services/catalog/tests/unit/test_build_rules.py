"""Pure rules of builds: SemVer precedence keys, cron expressions, image references."""

from __future__ import annotations

import pytest

from hspm.catalog.builds import rules


def _key(version: str) -> tuple[list[int], bool, str]:
    parsed = rules.parse_version(version)
    assert parsed is not None
    core, pre = parsed
    return core, pre is None, pre or ""


def test_pre_release_keys_follow_semver_precedence() -> None:
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
    ]
    assert sorted(ordered, key=_key) == ordered
    assert sorted(["1.0.0-a-b", "1.0.0-a.x"], key=_key) == ["1.0.0-a.x", "1.0.0-a-b"]


def test_versions() -> None:
    assert rules.parse_version("1.2.3+build.5") == ([1, 2, 3], None)
    assert rules.parse_version("2024-spring") is None
    assert rules.version_problem("latest") and rules.version_problem(" NIGHTLY ")
    assert rules.version_problem("1.0.0-latest") is None and rules.version_problem("v2") is None


@pytest.mark.parametrize("expr", ["* * * * *", "*/5 0-6 1,15 JAN-MAR mon-fri", "0 0 * * 7", "5-10/2 * * * *"])
def test_good_cron(expr: str) -> None:
    assert rules.cron_problem(expr) is None


@pytest.mark.parametrize(
    "expr",
    [
        "",
        "* * * *",
        "* * * * * *",
        "60 * * * *",
        "* 24 * * *",
        "* * 0 * *",
        "* * * 13 *",
        "* * * * 8",
        "*/0 * * * *",
        "10-5 * * * *",
        "At 00:00",
        "x * * * *",
    ],
)
def test_bad_cron(expr: str) -> None:
    assert rules.cron_problem(expr) is not None


def test_image_references() -> None:
    assert rules.REGISTRY.fullmatch("registry-1.docker.io:443")
    assert not rules.REGISTRY.fullmatch("https://index.docker.io/v1/")
    assert rules.REPOSITORY.fullmatch("p3000/knartwork") and not rules.REPOSITORY.fullmatch("P3000/x")
    assert rules.TAG.fullmatch("v0.5.1") and not rules.TAG.fullmatch(".hidden")
    assert rules.pattern_problem("https?://.+") is None and rules.pattern_problem("(") is not None


def test_builds_sent_back_are_editable() -> None:
    assert {"draft", "rejected", "changes_requested", "auto_rejected"} == rules.EDITABLE
    assert not rules.EDITABLE & {"submitted", "validating", "awaiting_review", "approved", "published"}
