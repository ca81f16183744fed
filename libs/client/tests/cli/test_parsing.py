"""The command line's grammar: every group parses, ids are checked, usage errors are 2."""

from __future__ import annotations

import pytest

from hspm.client.cli import main, parser


def parse(*argv: str):
    return parser().parse_args(list(argv))


ID = "0e0c2b52-6f7c-4b8e-9c47-2f1d8a4c9b11"


class TestGrammar:
    @pytest.mark.parametrize(
        "argv",
        [
            ["login", "--no-browser"],
            ["login", "--with-token"],
            ["logout"],
            ["whoami", "--json"],
            ["product", "list", "--mine", "--search", "fhir"],
            ["product", "show", ID],
            ["product", "create", "Name", "--description", "d"],
            ["product", "edit", ID, "--name", "n"],
            ["build", "submit", "marketplace.json", "--product", ID, "--no-wait"],
            ["build", "show", ID, "--product", ID],
            ["review", "list", "--state", "awaiting_review"],
            ["review", "show", ID],
            ["review", "approve", ID],
            ["review", "reject", ID, "--reason", "r"],
            ["review", "request-changes", ID, "--reason", "r"],
            ["license", "check", ID],
            ["report", "usage", "--csv", "--from", "2026-01-01"],
            ["platform", "list"],
            ["platform", "create", "Lab"],
            ["platform", "show", ID],
            ["platform", "keys", ID, "--add", "key.pub"],
            ["instance", "list", "--platform", ID],
            ["instance", "create", "--platform", ID, "--build", ID],
            ["instance", "show", ID],
            ["instance", "delete", ID],
            ["agent", "run"],
        ],
    )
    def test_parses(self, argv):
        assert callable(parse(*argv).handler)

    def test_submit_defaults(self):
        args = parse("build", "submit", "m.json")
        assert args.wait is True and args.timeout == 900.0 and args.product is None and args.json is False

    def test_ids_are_normalized(self):
        assert parse("product", "show", ID.upper()).product == ID

    def test_decisions(self):
        assert parse("review", "request-changes", ID, "--reason", "x").decision == "request_changes"


class TestUsageErrors:
    @pytest.mark.parametrize(
        "argv",
        [
            [],
            ["product"],
            ["product", "show", "not-an-id"],
            ["product", "show", "../../users"],
            ["review", "reject", ID],
            ["build", "show", ID],
            ["instance", "create", "--platform", ID],
            ["platform", "keys", ID, "--add", "k", "--revoke", ID],
            ["nonsense"],
        ],
    )
    def test_exit_2(self, argv, capsys):
        assert main(argv) == 2
        assert "usage:" in capsys.readouterr().err

    def test_help_is_exit_0(self, capsys):
        assert main(["--help"]) == 0
        assert "login" in capsys.readouterr().out
