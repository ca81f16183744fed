"""``hspm agent run --config FILE``: the Platform Agent (docs/platform-agent.md)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from hspm.client.platform_agent import logs
from hspm.client.platform_agent.config import ConfigError, load


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = groups.add_parser("agent", help="run the Platform Agent")
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="connect to the marketplace and run its instances here")
    run.add_argument("--config", type=Path, help="TOML settings (HSPM_AGENT_* variables override them)")
    run.set_defaults(handler=run_command)


def run_command(args: argparse.Namespace) -> int:
    try:
        config = load(args.config)
    except ConfigError as exc:
        sys.stderr.write(f"hspm agent run: {exc}\n")
        return 2
    logs.configure(config.log_level, config.log_json)
    from hspm.client.platform_agent.app import run_agent

    try:
        return asyncio.run(run_agent(config))
    except ConfigError as exc:
        sys.stderr.write(f"hspm agent run: {exc}\n")
        return 2
