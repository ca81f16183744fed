"""Identity's operator commands that need no database."""

from __future__ import annotations

import pytest

from hspm.identity import cli
from hspm.identity.config import Settings
from hspm.identity.signing import TokenIssuer


def test_generate_key_prints_a_key_identity_signs_with(capsys: pytest.CaptureFixture[str]) -> None:
    cli.main(["generate-key"])
    pem = capsys.readouterr().out
    assert pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert TokenIssuer(pem, "https://marketplace.example").kid


@pytest.mark.parametrize("argv", [[], ["create-admin"], ["seed-demo"], ["serve"]])
def test_only_the_operator_commands_parse(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.build_parser().parse_args(argv)
    assert exited.value.code == 2


def test_create_admin_takes_a_name() -> None:
    args = cli.build_parser().parse_args(["create-admin", "--name", "Ops"])
    assert (args.command, args.name) == ("create-admin", "Ops")


async def test_create_admin_refuses_to_start_without_a_signing_key() -> None:
    # Checked before any database is touched: this URL leads nowhere.
    settings = Settings(signing_key="", database_url="postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(SystemExit, match="HSPM_SIGNING_KEY"):
        await cli.create_admin("Ops", settings)
