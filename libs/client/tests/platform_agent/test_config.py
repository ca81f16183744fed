"""Settings from a TOML file with HSPM_AGENT_* overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from hspm.client.platform_agent.config import ConfigError, load

BASE = 'marketplace_url = "https://mp.example"\nplatform_id = "p"\nkey_id = "k"\nkey_file = "/k"\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(BASE + text)
    return path


def test_the_environment_overrides_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[environment]\nA = "1"\n[podman]\nnetwork = "none"\n')
    env = {
        "HSPM_AGENT_PODMAN_NETWORK": "slirp4netns",
        "HSPM_AGENT_HEALTH_TIMEOUT_SECONDS": "5",
        "HSPM_AGENT_PRODUCTS": '{"p1": {"B": 2}}',
        "HSPM_AGENT_PODMAN_INSECURE_REGISTRIES": "127.0.0.1:5000, registry.local",
        "HSPM_AGENT_LOG_JSON": "false",
    }
    config = load(path, env)
    assert config.podman.network == "slirp4netns" and config.health_timeout_seconds == 5.0
    assert config.values_for("p1") == {"A": "1", "B": "2"}
    assert config.podman.insecure_registries == ["127.0.0.1:5000", "registry.local"]
    assert config.log_json is False
    assert config.websocket_urls == ["wss://mp.example/websocket"]


def test_all_settings_from_the_environment_alone() -> None:
    env = {"HSPM_AGENT_MARKETPLACE_URL": "http://m", "HSPM_AGENT_PLATFORM_ID": "p"}
    env |= {"HSPM_AGENT_KEY_ID": "k", "HSPM_AGENT_KEY_FILE": "/k", "HSPM_AGENT_DRIVER": "compose"}
    assert load(None, env).driver == "compose"


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("", {"HSPM_AGENT_DRIVER": "docker"}, "driver must be"),
        ("surprise = 1\n", {}, "unknown settings: surprise"),
        ("stop_timeout_seconds = 'x'\n", {}, "must be a int"),
        ("[recall_policy]\ncritical = 'pray'\n", {}, "recall_policy"),
        ("", {"HSPM_AGENT_RESYNC_SECONDS": "soon"}, "not a valid float"),
    ],
)
def test_bad_settings_say_which(tmp_path: Path, text: str, env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load(write(tmp_path, text), env)


def test_required_settings() -> None:
    with pytest.raises(ConfigError, match="marketplace_url is required"):
        load(None, {})


def test_a_recall_policy_changes_only_the_severities_it_names(tmp_path: Path) -> None:
    config = load(write(tmp_path, '[recall_policy]\ncritical = "upgrade"\n'), {})
    assert config.recall_policy == {
        "critical": "upgrade",
        "high": "upgrade",
        "moderate": "upgrade",
        "low": "notify",
    }
    env = {
        "HSPM_AGENT_MARKETPLACE_URL": "http://m",
        "HSPM_AGENT_PLATFORM_ID": "p",
        "HSPM_AGENT_KEY_ID": "k",
        "HSPM_AGENT_KEY_FILE": "/k",
        "HSPM_AGENT_RECALL_POLICY": '{"low": "stop"}',
    }
    from_env = load(None, env)
    assert from_env.recall_policy["low"] == "stop" and from_env.recall_policy["critical"] == "stop"


def test_an_unknown_severity_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="severities are critical, high, moderate, low: urgent"):
        load(write(tmp_path, '[recall_policy]\nurgent = "stop"\n'), {})
