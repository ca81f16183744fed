"""The local stack's own logic (no service processes started)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from hspm.devstack import stack as stack_module
from hspm.devstack.private import write_private
from hspm.devstack.stack import Stack, StackConfig, identity_command


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


class TestSecrets:
    def test_generated_once_and_kept_private(self, tmp_path: Path) -> None:
        first = Stack(StackConfig.isolated(tmp_path, "t"))
        second = Stack(StackConfig.isolated(tmp_path, "t"))
        assert first.internal_secret == second.internal_secret
        assert first.signing_key == second.signing_key
        for name in ("signing-key.pem", "internal-secret", "oidc-client-secret"):
            assert _mode(tmp_path / name) == 0o600

    def test_the_signing_key_comes_from_identitys_own_command(self, tmp_path: Path) -> None:
        key = Stack(StackConfig.isolated(tmp_path, "t")).signing_key
        lines = key.strip().splitlines()
        assert lines[0].startswith("-----BEGIN ") and lines[0].endswith("PRIVATE KEY-----")
        assert lines[-1].startswith("-----END ") and lines[-1].endswith("PRIVATE KEY-----")

    def test_a_kept_secret_is_not_made_again(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        for name in ("signing-key.pem", "internal-secret", "oidc-client-secret"):
            write_private(tmp_path / name, f"kept {name}".encode())

        def no_new_key() -> str:
            raise AssertionError("a kept signing key must be reused")

        monkeypatch.setattr(stack_module, "generate_signing_key", no_new_key)
        stack = Stack(StackConfig.isolated(tmp_path, "t"))
        assert stack.signing_key == "kept signing-key.pem"

    def test_isolated_stacks_do_not_share_names(self, tmp_path: Path) -> None:
        a, b = StackConfig.isolated(tmp_path, "a"), StackConfig.isolated(tmp_path, "b")
        assert a.database_url("identity") != b.database_url("identity")
        assert a.amqp_namespace != b.amqp_namespace


class TestLocalProvider:
    def test_a_secret_starting_with_a_dash_reaches_identity_intact(self, tmp_path: Path) -> None:
        # token_urlsafe() can start with "-"; passed on a command line it was once taken
        # for an option. It now travels in a JSON body, as written.
        write_private(tmp_path / "oidc-client-secret", b"-starts-with-a-dash")
        provider = Stack(StackConfig.isolated(tmp_path, "t")).local_provider()
        assert provider.client_secret == "-starts-with-a-dash"
        assert provider.issuer.startswith("http://127.0.0.1:")
        assert provider.accounts.name == "accounts.json"


class TestPrivateFiles:
    def test_an_existing_readable_file_becomes_private(self, tmp_path: Path) -> None:
        path = tmp_path / "tokens.json"
        path.write_text("old")
        path.chmod(0o644)
        write_private(path, b"new")
        assert (path.read_text(), _mode(path)) == ("new", 0o600)

    def test_missing_folders_are_made(self, tmp_path: Path) -> None:
        path = tmp_path / "a" / "b" / "secret"
        write_private(path, b"x")
        assert (path.read_bytes(), _mode(path)) == (b"x", 0o600)


class TestIdentityCommand:
    def test_a_failing_command_reports_its_output(self) -> None:
        with pytest.raises(RuntimeError, match="no-such-command"):
            identity_command(["no-such-command"])
