"""The ``hspm`` command line. Each command group is a module with a ``register`` function
that adds its subcommands; adding a group is one module and one line in ``GROUPS``.

argparse (the standard library) rather than click or typer: the agent's image and the
hospitals' hosts get no extra dependency, and nested subcommands, help and exit codes
are all it needs to give.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from hspm.client.cli import agent, builds, licensing, login, platforms, products, reviews

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]
GROUPS: tuple[Register, ...] = (
    login.register,
    products.register,
    builds.register,
    reviews.register,
    licensing.register,
    platforms.register,
    agent.register,
)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="hspm",
        description="HSP Marketplace command line.",
        epilog="The marketplace is --url, $HSPM_URL or http://127.0.0.1:8080; the token is "
        "$HSPM_TOKEN or what `hspm login` stored. Exit codes: docs/cli.md.",
    )
    groups = top.add_subparsers(dest="group", required=True, metavar="COMMAND")
    for register in GROUPS:
        register(groups)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command to its exit code (docs/cli.md); a usage error is 2, as argparse has it."""
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2): argparse has printed why
        return exc.code if isinstance(exc.code, int) else 2
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)
