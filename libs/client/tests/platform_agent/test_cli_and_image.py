"""The ``hspm`` command line and the agent's image, without running either for real."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from hspm.client.cli import main, parser
from hspm.client.platform_agent.app import load_key
from hspm.client.platform_agent.config import ConfigError

REPO = Path(__file__).resolve().parents[4]
DOCKERFILE = REPO / "docker" / "agent.Dockerfile"


def test_agent_run_takes_a_config_file() -> None:
    args = parser().parse_args(["agent", "run", "--config", "/etc/hspm-agent/agent.toml"])
    assert args.config == Path("/etc/hspm-agent/agent.toml") and callable(args.handler)


def test_missing_settings_exit_2_and_say_which(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["agent", "run"]) == 2
    assert "marketplace_url is required" in capsys.readouterr().err


def test_keys_as_pem_or_as_a_base64_seed(tmp_path: Path) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    pem = tmp_path / "key.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    seed = tmp_path / "key.b64"
    seed.write_text(base64.b64encode(key.private_bytes_raw()).decode() + "\n")
    public = key.public_key().public_bytes_raw()
    assert load_key(pem).public_key().public_bytes_raw() == public
    assert load_key(seed).public_key().public_bytes_raw() == public
    seed.write_text("not a key")
    with pytest.raises(ConfigError):
        load_key(seed)


def test_the_module_runs_as_the_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "hspm.client.cli", "agent", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and "run" in done.stdout


class TestImage:
    def test_packaging_rules(self) -> None:
        text = DOCKERFILE.read_text()
        final = re.split(r"^FROM ", text, flags=re.MULTILINE)[-1]
        assert re.findall(r"^USER\s+(\S+)", final, re.MULTILINE)[-1] == "10001:10001"
        assert re.search(r"^STOPSIGNAL\s+SIGTERM", final, re.MULTILINE)
        assert re.search(r"^HEALTHCHECK\s", final, re.MULTILINE)
        # Exec form: the agent itself is PID 1 and receives SIGTERM.
        assert 'ENTRYPOINT ["/app/.venv/bin/hspm", "agent", "run"]' in final
        for key in re.findall(r"^\s+(\w+)=", final, re.MULTILINE):
            assert re.fullmatch(r"[A-Z0-9_]+", key), key

    def test_hadolint_clean(self) -> None:
        hadolint = Path(sys.executable).parent / "hadolint"
        found = str(hadolint) if hadolint.exists() else shutil.which("hadolint")
        if found is None:
            pytest.fail("hadolint is missing: it comes with the dev dependencies (uv sync)")
        done = subprocess.run(
            [found, str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr
