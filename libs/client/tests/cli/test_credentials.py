"""The credentials file: per marketplace URL, private (0600), replaced atomically."""

from __future__ import annotations

import stat
from pathlib import Path

from hspm.client.cli import credentials
from hspm.client.cli.common import resolve_token


def _env(tmp_path: Path) -> dict[str, str]:
    return {"XDG_CONFIG_HOME": str(tmp_path / "cfg"), "HOME": str(tmp_path / "home")}


class TestCredentials:
    def test_saved_privately_per_url(self, tmp_path):
        env = _env(tmp_path)
        where = credentials.save("http://a.example/", {"token": "t-a"}, env)
        credentials.save("http://b.example", {"token": "t-b"}, env)
        assert where == tmp_path / "cfg" / "hspm" / "credentials.json"
        assert stat.S_IMODE(where.stat().st_mode) == 0o600
        assert stat.S_IMODE(where.parent.stat().st_mode) == 0o700
        assert credentials.find("http://a.example", env) == {"token": "t-a"}
        assert credentials.find("http://b.example/", env) == {"token": "t-b"}

    def test_forget_one_keeps_the_other(self, tmp_path):
        env = _env(tmp_path)
        credentials.save("http://a.example", {"token": "t-a"}, env)
        credentials.save("http://b.example", {"token": "t-b"}, env)
        assert credentials.forget("http://a.example", env) == {"token": "t-a"}
        assert credentials.find("http://a.example", env) is None
        assert credentials.find("http://b.example", env) == {"token": "t-b"}
        assert credentials.forget("http://a.example", env) is None

    def test_xdg_default_is_dot_config(self, tmp_path):
        env = {"HOME": str(tmp_path)}
        assert credentials.path(env) == tmp_path / ".config" / "hspm" / "credentials.json"

    def test_a_damaged_file_is_no_sign_in(self, tmp_path):
        env = _env(tmp_path)
        target = credentials.path(env)
        target.parent.mkdir(parents=True)
        for content in ("{not json", "[1]", '{"http://a": {"token": 5}}'):
            target.write_text(content)
            assert credentials.find("http://a", env) is None

    def test_the_environment_token_wins(self, tmp_path):
        env = _env(tmp_path)
        credentials.save("http://a.example", {"token": "stored"}, env)
        assert resolve_token("http://a.example", env) == ("stored", "credentials")
        assert resolve_token("http://a.example", env | {"HSPM_TOKEN": " ci \n"}) == ("ci", "HSPM_TOKEN")
        assert resolve_token("http://other.example", env) == (None, None)
