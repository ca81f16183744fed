"""The operator artefacts stay correct without a container engine: compose and Dockerfiles."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

REPO = Path(__file__).resolve().parents[1]
SERVICES = ["gateway", "identity", "catalog", "curation", "validator", "licensing", "notifier", "web"]
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        found = shutil.which(name)
        if found is None:
            pytest.fail(f"{name} is missing: it comes with the dev dependencies (uv sync)")
        return found
    return str(path)


def _compose(*args: str, env: dict[str, str] | None = None) -> tuple[bool, str, str]:
    """Run compose; success means no error on stderr (the PyPI wrapper always exits 0)."""
    done = subprocess.run(
        [_tool("docker-compose"), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
        env=env,
    )
    ok = done.returncode == 0 and "error" not in done.stderr.lower()
    return ok, done.stdout, done.stderr


def _config(*profiles: str, overlay: bool = False) -> dict[str, Any]:
    args = ["-f", str(REPO / "compose.observability.yaml")] if overlay else []
    for p in profiles:
        args += ["--profile", p]
    files = ["--env-file", str(REPO / ".env.example"), "-f", str(REPO / "compose.yaml")]
    ok, out, err = _compose(*files, *args, "config", "--format", "json")
    assert ok, err
    data: dict[str, Any] = orjson.loads(out)
    return data


class TestCompose:
    @pytest.mark.parametrize(
        ("profiles", "overlay"),
        [((), False), ((), True), (("full", "dev"), False), (("full", "dev", "ops"), True)],
    )
    def test_config_is_valid(self, profiles: tuple[str, ...], overlay: bool) -> None:
        assert _config(*profiles, overlay=overlay)["services"]

    def test_every_service_is_bounded_and_checked(self) -> None:
        services = _config("full")["services"]
        for name in SERVICES:
            svc = services[name]
            assert svc["deploy"]["resources"]["limits"]["memory"], name
            assert "healthcheck" in svc or name in ("gateway", "identity"), name
            assert svc.get("read_only") is True, name
            assert svc["environment"]["OTEL_SERVICE_NAME"] == name

    def test_only_the_gateway_is_published(self) -> None:
        services = _config("full")["services"]
        published = {name for name, svc in services.items() if svc.get("ports")}
        assert published == {"gateway"}

    def test_secrets_are_required_not_defaulted(self) -> None:
        ok, _, err = _compose("-f", str(REPO / "compose.yaml"), "config", "-q", env={"PATH": "/usr/bin:/bin"})
        assert not ok
        assert "required variable" in err


DOCKERFILE = REPO / "docker" / "service.Dockerfile"


class TestDockerfile:
    def test_shape(self) -> None:
        text = DOCKERFILE.read_text()
        # The last USER of each final stage is the service user, never root.
        for stage in re.split(r"^FROM ", text, flags=re.MULTILINE)[1:]:
            users = re.findall(r"^USER\s+(\S+)", stage, re.MULTILINE)
            if users:
                assert users[-1] == "10001:10001", stage.splitlines()[0]
        assert re.search(r"^STOPSIGNAL\s+SIGTERM", text, re.MULTILINE)
        assert re.search(r"^HEALTHCHECK\s", text, re.MULTILINE)
        # exec: the service, not a shell, is the process that receives SIGTERM.
        assert 'exec /app/.venv/bin/python -m \\"hspm.${HSPM_SERVICE}\\"' in text

    @pytest.mark.parametrize("service", SERVICES)
    def test_compose_builds_each_service_from_it(self, service: str) -> None:
        build = _config("full")["services"][service]["build"]
        assert build["dockerfile"].endswith("docker/service.Dockerfile")
        assert build["args"]["SERVICE"] == service
        assert build["target"] == ("validator" if service == "validator" else "service")

    def test_hadolint_clean(self) -> None:
        done = subprocess.run(
            [_tool("hadolint"), str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr
