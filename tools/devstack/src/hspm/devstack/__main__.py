"""``make up`` / ``make down``: the whole marketplace on this machine."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys

from hspm.devstack.stack import REPO, SERVICES, Stack, StackConfig

STATE_DIR = REPO / ".hspm"
PID_FILE = STATE_DIR / "devstack.pid"


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def up() -> int:
    stack = Stack(StackConfig.default(STATE_DIR))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    PID_FILE.write_text(str(os.getpid()))
    try:
        _say("starting: registry, oidc-provider, " + ", ".join(s.name for s in SERVICES))
        await stack.start()
        tokens = await stack.seed()
        await stack.seed_catalog()
        c = stack.config
        _say("")
        _say(f"HSP Marketplace is up.  Gateway:      {c.gateway_url}")
        _say(f"  API docs:                          {c.gateway_url}/docs")
        _say(f"  OpenID Connect provider (dev):     {c.oidc_issuer}")
        _say(f"  OCI registry (allow-listed, HTTP): {c.registry_host}  (samples/<name>:1, demo/...)")
        _say(f"  Demo API tokens (one per persona): {tokens.relative_to(REPO)}")
        _say(f"  Logs:                              {(STATE_DIR / 'logs').relative_to(REPO)}/")
        _say(
            '  Try: curl -H "Authorization: Bearer $(jq -r .isv .hspm/dev-tokens.json)" '
            f"{c.gateway_url}/status"
        )
        _say("Ctrl-C or `make down` stops everything.")
        waiters = [asyncio.create_task(p.wait()) for p in stack.processes.values()]
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([stopper, *waiters], return_when=asyncio.FIRST_COMPLETED)
        if stopper not in done:
            _say("a process exited unexpectedly; stopping the rest (see .hspm/logs/)")
        for task in [stopper, *waiters]:
            task.cancel()
        return 0 if stopper in done else 1
    finally:
        timings = await stack.stop()
        _say("stopped: " + ", ".join(f"{k} in {v:.1f}s" for k, v in timings.items()))
        with contextlib.suppress(FileNotFoundError):
            PID_FILE.unlink()


def down() -> int:
    if not PID_FILE.exists():
        _say("nothing to stop")
        return 0
    pid = int(PID_FILE.read_text())
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    _say(f"sent SIGTERM to the stack (pid {pid})")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m hspm.devstack")
    parser.add_argument("command", choices=["up", "down"])
    args = parser.parse_args()
    sys.exit(asyncio.run(up()) if args.command == "up" else down())


if __name__ == "__main__":
    main()
