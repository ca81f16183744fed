"""The static rules as pure functions, and the static phase for builds that need no registry."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from hspm.common.events.catalog import ConfigurationSnapshot, EnvironmentVariable, TaskSnapshot
from hspm.common.events.curation import ImageTarget, ValidationPolicy, ValidationRequested
from hspm.common.events.validator import STATIC_RULES
from hspm.validator.config import Settings
from hspm.validator.facts import HEALTH_LABEL
from hspm.validator.report import Findings
from hspm.validator.static import inspection, rules


def _task(name: str = "web", **fields) -> TaskSnapshot:
    fields.setdefault("memory_maximum", 256)
    return TaskSnapshot(task_id=uuid.uuid4(), name=name, **fields)


def _config(*tasks: TaskSnapshot, name: str = "default", default: bool = True) -> ConfigurationSnapshot:
    return ConfigurationSnapshot(configuration_id=uuid.uuid4(), name=name, default=default, tasks=list(tasks))


def _env(*keys: str, default: str | None = None) -> list[EnvironmentVariable]:
    return [EnvironmentVariable(key=k, default=default) for k in keys]


class TestSecrets:
    @pytest.mark.parametrize(
        ("name", "value", "why"),
        [
            ("DB_PASSWORD", "hunter2", "a secret-like name with a value"),
            ("MYSQL_ROOT_PASSWORD", "x", "a secret-like name with a value"),
            ("GITHUB_TOKEN", "abc", "a secret-like name with a value"),
            ("SECRET_KEY_BASE", "0123abc", "a secret-like name with a value"),
            ("STRIPE_API_KEY", "k", "a secret-like name with a value"),
            ("org.example.api-key", "k", "a secret-like name with a value"),
            ("AWS_SECRET_ACCESS_KEY", "k", "a secret-like name with a value"),
            ("DB_PASSWORD", "", None),
            ("DB_PASSWORD", "   ", None),
            ("PASSWORD_FILE", "/run/secrets/db", None),
            ("TOKEN_URL", "https://auth.example/token", None),
            ("TOKEN_TTL", "3600", None),
            ("PASSWORD_RESET_ENABLED", "false", None),
            ("TOKENIZER", "bert", None),
            ("SECRETARY_NAME", "Ada", None),
            ("NOTE", "-----BEGIN RSA PRIVATE KEY-----\nMIIE...", "a PEM private key"),
            ("KEY", "-----BEGIN PRIVATE KEY-----", "a PEM private key"),
            ("CERT", "-----BEGIN CERTIFICATE-----", None),
            ("AWS_ID", "AKIAIOSFODNN7EXAMPLE", "an AWS access key id"),
            ("X", "ghp_" + "a" * 36, "a GitHub token"),
            ("DATABASE_URL", "postgres://app:pw@db:5432/app", "a URL with a password"),
            ("DATABASE_URL", "postgres://db:5432/app", None),
            ("CACHE", "redis://:pw@cache:6379/0", "a URL with a password"),
            ("org.opencontainers.image.source", "https://ci:ghs_x@github.com/o/r", "a URL with a password"),
            ("PATH", "/usr/bin:/bin", None),
        ],
    )
    def test_table(self, name: str, value: str, why: str | None) -> None:
        assert rules.secret_reason(name, value) == why

    def test_evidence_names_but_never_quotes(self) -> None:
        configs = [_config(_task(environment=_env("API_TOKEN", default="tok-in-defaults")))]
        status, evidence = rules.judge_env_secrets(
            ["PATH=/bin", "DB_PASSWORD=hunter2"], {"org.example.token": "lbl-secret-value"}, configs
        )
        assert status == "fail"
        assert "image Env DB_PASSWORD" in evidence and "label org.example.token" in evidence
        assert "configuration 'default' task 'web' default of API_TOKEN" in evidence
        for value in ("hunter2", "lbl-secret-value", "tok-in-defaults"):
            assert value not in evidence

    def test_clean(self) -> None:
        assert rules.judge_env_secrets(["PATH=/bin", "PORT=8080"], {"a": "b"}, [])[0] == "pass"


class TestEnvNames:
    def test_offenders_are_named_with_where_they_are(self) -> None:
        configs = [
            _config(_task(environment=_env("DB_URL", "db_host"))),
            _config(_task("worker"), name="alt", default=False),
        ]
        status, evidence = rules.judge_env_names(["PATH=/bin", "port=8080", "lower_case=1", "=x"], configs)
        assert status == "fail"
        assert "image Env: 'port', 'lower_case', ''" in evidence
        assert "configuration 'default' task 'web': 'db_host'" in evidence

    def test_upper_case_names_pass(self) -> None:
        configs = [_config(_task(environment=_env("DB_URL", "X2_Y")))]
        assert rules.judge_env_names(["PATH=/bin", "PORT"], configs) == (
            "pass",
            "all 4 names in the image's Env and the declared configuration are ^[A-Z0-9_]+$",
        )


class TestMemory:
    def test_nothing_declared(self) -> None:
        assert rules.judge_memory([], 1024)[0] == "fail"
        assert rules.judge_memory([_config()], 1024)[0] == "fail"

    def test_each_task_is_checked(self) -> None:
        configs = [
            _config(
                _task("a", memory_maximum=None),
                _task("b", memory_maximum=0),
                _task("c", memory_maximum=4096),
                _task("d", memory_maximum=100, memory_minimum=200),
                _task("e", memory_maximum=512),
            )
        ]
        status, evidence = rules.judge_memory(configs, 1024)
        assert status == "fail"
        assert "task 'a': no memory_maximum" in evidence
        assert "task 'b': memory_maximum 0 MiB is below 1" in evidence
        assert "task 'c': memory_maximum 4096 MiB exceeds the limit of 1024 MiB" in evidence
        assert "task 'd': memory_minimum 200 MiB is above memory_maximum 100 MiB" in evidence
        assert "'e'" not in evidence

    def test_sane(self) -> None:
        configs = [_config(_task("a", memory_maximum=64), _task("b", memory_maximum=512))]
        assert rules.judge_memory(configs, 1024) == ("pass", "2 tasks declare 64-512 MiB (limit 1024 MiB)")


class TestConfigurationDefault:
    def test_cases(self) -> None:
        assert rules.judge_configuration([]) == ("fail", "no configuration is declared")
        none = [_config(_task(), default=False)]
        assert rules.judge_configuration(none)[1].startswith("0 default configurations")
        two = [_config(_task()), _config(_task(), name="b")]
        assert rules.judge_configuration(two)[1].startswith("2 default configurations ('default', 'b')")
        assert "has no task" in rules.judge_configuration([_config()])[1]
        bounds = [_config(_task(instances_minimum=3, instances_maximum=2))]
        assert "instances_minimum 3 > instances_maximum 2" in rules.judge_configuration(bounds)[1]
        ok = [
            _config(_task(instances_minimum=1, instances_maximum=None)),
            _config(name="other", default=False),
        ]
        assert rules.judge_configuration(ok) == ("pass", "default configuration 'default' with 1 task(s)")

    def test_a_maximum_of_zero_is_unlimited(self) -> None:
        # As the packaging schema and the catalog read it: at least two, no upper bound.
        unlimited = [_config(_task(instances_minimum=2, instances_maximum=0))]
        assert rules.judge_configuration(unlimited)[0] == "pass"


class TestPorts:
    def test_declared_but_not_exposed_fails(self) -> None:
        status, evidence = rules.judge_ports({8080}, [_config(_task(ports=[8080, 9090]))])
        assert status == "fail"
        assert evidence == "configuration 'default' task 'web' declares 9090; the image exposes 8080"

    def test_exposed_but_undeclared_warns(self) -> None:
        assert rules.judge_ports({8080, 9000}, [_config(_task(ports=[8080]))]) == (
            "warning",
            "the image exposes 9000, which no task declares",
        )

    def test_match(self) -> None:
        assert rules.judge_ports({8080}, [_config(_task(ports=[8080]))])[0] == "pass"
        assert rules.judge_ports(set(), [_config(_task())]) == ("pass", "no ports declared or exposed")


@pytest.mark.parametrize(
    ("user", "status"),
    [("", "fail"), ("0", "fail"), ("root", "fail"), ("0:0", "fail"), ("0:1000", "fail"), ("root:app", "fail"),
     ("1000", "pass"), ("1000:1000", "pass"), ("1000:0", "pass"), ("app", "pass"), ("10", "pass")],
)  # fmt: skip
def test_user(user: str, status: str) -> None:
    assert rules.judge_user(user)[0] == status


def test_labels() -> None:
    assert rules.judge_labels({}, []) == ("pass", "the operator requires no labels")
    status, evidence = rules.judge_labels({"a": "1", "b": " "}, ["a", "b", "c"])
    assert (status, evidence) == ("fail", "missing or empty: b, c")
    assert rules.judge_labels({"a": "1"}, ["a"]) == ("pass", "present: a")


def test_health() -> None:
    assert rules.judge_health(["CMD", "true"], {})[0] == "pass"
    assert rules.judge_health(None, {HEALTH_LABEL: "/healthz"}) == (
        "pass",
        f"label {HEALTH_LABEL}=/healthz",
    )
    assert rules.judge_health(None, {HEALTH_LABEL: "healthz"})[0] == "warning"
    assert rules.judge_health(None, {}) == ("warning", f"no HEALTHCHECK and no {HEALTH_LABEL} label")


@pytest.mark.parametrize(
    ("entrypoint", "cmd", "status"),
    [
        ([], [], "fail"),
        ([""], [], "fail"),
        (["/bin/start.sh"], [], "pass"),
        ([], ["python", "-m", "app"], "pass"),
        (["/bin/sh", "-c", "migrate && exec server"], [], "pass"),
        (["/bin/sh", "-c", "server 2>&1 | tee /dev/null"], [], "pass"),
        (["sh", "-c", "worker & server"], [], "warning"),
        (["/bin/bash", "-ec", "a &\nb"], [], "warning"),
        ([], ["/usr/bin/supervisord", "-n"], "warning"),
        (["/app/run", "&"], [], "pass"),  # not a shell: '&' is just an argument
    ],
)
def test_entrypoint(entrypoint: list[str], cmd: list[str], status: str) -> None:
    assert rules.judge_entrypoint(entrypoint, cmd)[0] == status


def _request(
    image: ImageTarget, configs: list[ConfigurationSnapshot], has_asset: bool = False
) -> ValidationRequested:
    return ValidationRequested(
        occurred_at=datetime.now(UTC),
        producer="test",
        run_id=uuid.uuid4(),
        build_id=uuid.uuid4(),
        product_id=uuid.uuid4(),
        version="1.0.0",
        image=image,
        has_asset=has_asset,
        configurations=configs,
        policy=ValidationPolicy(),
    )


class TestInspectWithoutARegistry:
    async def test_a_content_build_skips_every_image_rule(self, tmp_path: Path) -> None:
        findings = Findings()
        async with aiohttp.ClientSession() as http:
            facts = await inspection.inspect(
                _request(ImageTarget(), [], has_asset=True), findings, Settings(), tmp_path, http
            )
        assert facts is None
        assert set(findings.verdicts) == set(STATIC_RULES)
        assert {v.status for v in findings.verdicts.values()} == {"skipped"}
        assert (
            findings.verdicts["image.reference"].evidence
            == "this build has no container image and declares no tasks"
        )

    async def test_a_content_build_with_declarations_has_them_judged(self, tmp_path: Path) -> None:
        findings = Findings()
        configs = [_config(_task(environment=_env("lower")))]
        async with aiohttp.ClientSession() as http:
            await inspection.inspect(
                _request(ImageTarget(), configs, has_asset=True), findings, Settings(), tmp_path, http
            )
        assert findings.verdicts["memory.declared"].status == "pass"
        assert findings.verdicts["env.names"].status == "fail"
        assert findings.verdicts["env.secrets"].status == "pass"
        assert findings.verdicts["image.platform"].evidence == "this build has no container image"

    async def test_an_executable_build_without_an_image_fails_the_reference(self, tmp_path: Path) -> None:
        findings = Findings()
        configs = [_config(_task(environment=_env("DB_URL")))]
        async with aiohttp.ClientSession() as http:
            facts = await inspection.inspect(
                _request(ImageTarget(), configs), findings, Settings(), tmp_path, http
            )
        assert facts is None
        assert findings.verdicts["image.reference"].status == "fail"
        assert findings.verdicts["image.resolvable"].evidence == "the image reference was refused"
        # The declarations pass, but the image's Env was never read: not a pass.
        assert findings.verdicts["env.names"].status == "skipped"
        assert findings.verdicts["memory.declared"].status == "pass"
        assert set(findings.verdicts) == set(STATIC_RULES)
