"""Issue 9: every regular expression the validator runs is linear (RE2), its detectors and the
patterns users declare alike; a pattern RE2 cannot compile fails a rule, it never hangs."""

from __future__ import annotations

import ast
import uuid
from pathlib import Path

import pytest

from hspm.common.events.catalog import ConfigurationSnapshot, EnvironmentVariable, TaskSnapshot
from hspm.validator import regex
from hspm.validator.sandbox import bundle
from hspm.validator.static import manifests, reference, responses, rules

SRC = Path(__file__).resolve().parents[2] / "src" / "hspm" / "validator"
MIB = 1024 * 1024


def _configs(*variables: EnvironmentVariable) -> list[ConfigurationSnapshot]:
    task = TaskSnapshot(task_id=uuid.uuid4(), name="web", memory_maximum=64, environment=list(variables))
    return [ConfigurationSnapshot(configuration_id=uuid.uuid4(), name="default", default=True, tasks=[task])]


class TestFinding3DetectorsAreLinearByConstruction:
    def test_no_validator_module_imports_pythons_backtracking_re(self) -> None:
        offenders = []
        for path in sorted(SRC.rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom):
                    names = [node.module or ""]
                if "re" in names:
                    offenders.append(str(path.relative_to(SRC)))
        assert offenders == []

    @pytest.mark.parametrize("module", [rules, reference, responses, manifests])
    def test_every_compiled_pattern_is_re2(self, module: object) -> None:
        patterns = [v for v in vars(module).values() if isinstance(v, regex.Pattern)]
        patterns += [
            p
            for v in vars(module).values()
            if isinstance(v, tuple)
            for p, *_ in v
            if isinstance(p, regex.Pattern)
        ]
        assert patterns, f"{module} compiles no pattern"
        assert {p.engine for p in patterns} == {"re2"}
        assert {type(p._compiled).__module__.split(".")[0] for p in patterns} == {"re2"}

    def test_the_shell_background_detector_is_a_single_pass(self) -> None:
        assert rules._backgrounds("a & b") and rules._backgrounds("&")
        for script in ("a && b", "a >& b", "a &> b", "a |& b", "a <& b", ""):
            assert not rules._backgrounds(script), script

    @pytest.mark.parametrize("size", [MIB // 2, MIB])
    def test_a_megabyte_env_value_is_judged(self, size: int) -> None:
        # Python's re took hours on this (quadratic in the URL-with-password detector).
        value = "a." * (size // 2)
        assert rules.judge_env_secrets([f"NOTES={value}"], {}, []) == (
            "pass",
            "no secret-like values in environment values, labels and declared defaults",
        )
        hidden = value + " see postgresql://app:hunter2@db.internal/app"
        status, evidence = rules.judge_env_secrets([f"NOTES={hidden}"], {}, [])
        assert (status, evidence) == ("fail", "image Env NOTES (a URL with a password)")

    def test_every_detector_still_finds_what_it_did(self) -> None:
        cases = {
            "-----BEGIN RSA PRIVATE KEY-----": "a PEM private key",
            "AKIAABCDEFGHIJKLMNOP": "an AWS access key id",
            "ghp_" + "a" * 36: "a GitHub token",
            "HTTPS://u:p@host/": "a URL with a password",
        }
        for value, why in cases.items():
            assert rules.secret_reason("X", value) == why
        assert rules.secret_reason("TOKEN_TTL", "3600") is None
        assert rules.secret_reason("PASSWORD_RESET", "TRUE") is None
        assert rules.secret_reason("db.password", "x") == "a secret-like name with a value"

    def test_a_value_past_the_bound_is_not_read(self) -> None:
        why = rules.secret_reason("NOTES", "a" * (rules.MAX_VALUE + 1))
        assert why == "a value over 4 MiB, too long to judge"


# (x|x)* style patterns: Python's re backtracks exponentially on the stock test values.
EXPONENTIAL = "(.|.)*!"


class TestFinding4UserPatternsRunUnderRe2:
    def test_a_backtracking_pattern_is_matched_in_linear_time(self) -> None:
        assert bundle.test_value(EnvironmentVariable(key="X", pattern=EXPONENTIAL)) == bundle.TEST_VALUES[0]
        assert bundle.test_value(EnvironmentVariable(key="X", pattern="(a+)+$")) == bundle.TEST_VALUES[0]
        assert (
            bundle.test_value(EnvironmentVariable(key="X", pattern="(h|h)+ttps?://.+"))
            == bundle.TEST_VALUES[1]
        )

    @pytest.mark.parametrize("pattern", [r"(a)\1", r"(?<=a)b", "a{2000}", "x" * (regex.MAX_PATTERN + 1)])
    def test_a_pattern_re2_cannot_compile_fails_env_names(self, pattern: str) -> None:
        var = EnvironmentVariable(key="APP_URL", pattern=pattern)
        assert bundle.test_value(var) == bundle.TEST_VALUES[0]  # no crash, no hang
        status, evidence = rules.judge_env_names(["PATH=/bin"], _configs(var))
        assert status == "fail"
        assert evidence.startswith(
            "configuration 'default' task 'web': the pattern of 'APP_URL' cannot be used: "
        )

    def test_the_error_says_what_re2_refused(self) -> None:
        with pytest.raises(regex.PatternError, match=r"^not RE2 syntax: invalid perl operator: \(\?!$"):
            regex.compile("(?!x)")

    def test_valid_patterns_pass_env_names(self) -> None:
        var = EnvironmentVariable(key="APP_URL", pattern="https?://.+")
        assert rules.judge_env_names(None, _configs(var))[0] == "pass"
        assert bundle.test_value(var) == "http://hspm-validation.invalid"

    def test_bad_names_and_bad_patterns_are_both_reported(self) -> None:
        configs = _configs(EnvironmentVariable(key="lower", pattern="(?=x)"))
        status, evidence = rules.judge_env_names(None, configs)
        assert status == "fail"
        assert evidence.startswith("not ^[A-Z0-9_]+$: configuration 'default' task 'web': 'lower' | ")
        assert "the pattern of 'lower' cannot be used: not RE2 syntax" in evidence
