"""The local stack's own logic (no processes started)."""

from __future__ import annotations

from pathlib import Path

from hspm.devstack.stack import Stack, StackConfig
from hspm.identity.cli import build_parser


class TestSeedCommand:
    def test_a_secret_starting_with_a_dash_reaches_the_command_intact(self, tmp_path: Path) -> None:
        # token_urlsafe() can start with "-"; as a separate argument argparse took it
        # for an option and seeding failed at random.
        (tmp_path / "oidc-client-secret").write_text("-starts-with-a-dash")
        stack = Stack(StackConfig.isolated(tmp_path, "t"))
        argv = stack.seed_argv(tmp_path / "tokens.json")
        args = build_parser().parse_args(argv[3:])
        assert args.client_secret == "-starts-with-a-dash"
        assert args.tokens_file == str(tmp_path / "tokens.json")


class TestSecrets:
    def test_generated_once_and_kept_private(self, tmp_path: Path) -> None:
        first = Stack(StackConfig.isolated(tmp_path, "t"))
        second = Stack(StackConfig.isolated(tmp_path, "t"))
        assert first.internal_secret == second.internal_secret
        assert first.signing_key == second.signing_key
        for name in ("signing-key.pem", "internal-secret", "oidc-client-secret"):
            assert (tmp_path / name).stat().st_mode & 0o777 == 0o600

    def test_isolated_stacks_do_not_share_names(self, tmp_path: Path) -> None:
        a, b = StackConfig.isolated(tmp_path, "a"), StackConfig.isolated(tmp_path, "b")
        assert a.database_url("identity") != b.database_url("identity")
        assert a.amqp_namespace != b.amqp_namespace
