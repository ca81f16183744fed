"""The ``hspm`` command line. Each command group is a module with a ``register`` function
that adds its subcommands; adding a group is one module and one line in ``GROUPS``.

argparse (the standard library) rather than click or typer: the agent's image and the
hospitals' hosts get no extra dependency, and nested subcommands, help and exit codes
are all it needs to give.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from hspm.client.cli import agent

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]
GROUPS: tuple[Register, ...] = (agent.register,)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="hspm", description="HSP Marketplace command line.")
    groups = top.add_subparsers(dest="group", required=True, metavar="COMMAND")
    for register in GROUPS:
        register(groups)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)
