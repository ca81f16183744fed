"""What every API command shares: ``--url`` and ``--json``, the token, the client, and
turning failures into a sentence on stderr and an exit code.

A command is ``async def action(ctx, args) -> int`` registered with :func:`command`;
:func:`run` gives it a :class:`Context` and catches what it raises.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TextIO
from uuid import UUID

from hspm.client.api import Api, ApiError
from hspm.client.cli import credentials
from hspm.client.cli.output import NOT_SIGNED_IN, CliError, Exit, explain, render_json

DEFAULT_URL = "http://127.0.0.1:8080"


@dataclass
class Context:
    """One command's marketplace, caller, client and output streams."""

    url: str
    token: str | None
    token_source: str | None  # "HSPM_TOKEN", "credentials" or None
    api: Api
    env: Mapping[str, str]
    as_json: bool
    out: TextIO
    err: TextIO

    def need_token(self) -> None:
        """Commands that only a signed-in caller may run say so before calling anything."""
        if not self.token:
            raise CliError(NOT_SIGNED_IN, Exit.AUTH)

    def write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def note(self, text: str) -> None:
        """Progress and hints: on stderr, so ``--json`` output on stdout stays parseable."""
        self.err.write(text if text.endswith("\n") else text + "\n")
        self.err.flush()

    def show(self, data: Any, human: Callable[[], str]) -> None:
        """``data`` as JSON with ``--json``, else ``human()``'s text."""
        self.write(render_json(data) if self.as_json else human())


Action = Callable[[Context, argparse.Namespace], Awaitable[int]]


def uuid_arg(value: str) -> str:
    """An id argument: checked here (a usage error), so nothing but an id goes into a URL."""
    try:
        return str(UUID(value))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an id: {value!r} (ids look like 0e0c...-...)") from None


def common_options() -> argparse.ArgumentParser:
    """``--url`` and ``--json``, accepted by every API command after its name."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--url", help=f"the marketplace (default: $HSPM_URL or {DEFAULT_URL})")
    parent.add_argument("--json", action="store_true", help="print JSON instead of text")
    return parent


COMMON = common_options()


def command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str, summary: str, action: Action
) -> argparse.ArgumentParser:
    """A subcommand that runs ``action`` through :func:`run`."""
    parser = commands.add_parser(name, help=summary, description=summary, parents=[COMMON])
    parser.set_defaults(handler=run, action=action)
    return parser


def group(
    groups: argparse._SubParsersAction[argparse.ArgumentParser], name: str, summary: str
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """A command group (``hspm product ...``) whose subcommand is required."""
    parser = groups.add_parser(name, help=summary, description=summary)
    return parser.add_subparsers(dest="command", required=True, metavar="COMMAND")


def resolve_url(args: argparse.Namespace, env: Mapping[str, str]) -> str:
    return credentials.normalize_url(getattr(args, "url", None) or env.get("HSPM_URL") or DEFAULT_URL)


def resolve_token(url: str, env: Mapping[str, str]) -> tuple[str | None, str | None]:
    """``HSPM_TOKEN`` (CI) first, else what ``hspm login`` stored for this URL."""
    if env.get("HSPM_TOKEN"):
        return env["HSPM_TOKEN"].strip(), "HSPM_TOKEN"
    stored = credentials.find(url, env)
    return (stored["token"], "credentials") if stored else (None, None)


@contextmanager
def hint(status: int, message: str, code: Exit | None = None) -> Iterator[None]:
    """Within this block, an API answer of ``status`` becomes ``message`` (say what to do)."""
    try:
        yield
    except ApiError as exc:
        if exc.status != status:
            raise
        default = Exit.NOT_FOUND if status == 404 else explain(exc, True).code
        raise CliError(message, code or default) from exc


async def _run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    url = resolve_url(args, env)
    token, source = resolve_token(url, env)
    async with Api(url, token) as api:
        ctx = Context(
            url, token, source, api, env, bool(getattr(args, "json", False)), sys.stdout, sys.stderr
        )
        try:
            action: Action = args.action
            return await action(ctx, args)
        except ApiError as exc:
            failure = explain(exc, signed_in=token is not None)
        except CliError as exc:
            failure = exc
    sys.stderr.write(f"hspm: {failure.message}\n")
    return int(failure.code)


def run(args: argparse.Namespace) -> int:
    """Run an API command to its exit code; Ctrl-C is exit 130 without a traceback."""
    try:
        return asyncio.run(_run(args, os.environ))
    except KeyboardInterrupt:
        sys.stderr.write("hspm: interrupted\n")
        return 130
