"""``python -m hspm.devstack.soak``: the soak, its counts printed, non-zero on any problem.

Settings come from the environment: ``SOAK_ROUNDS`` (100), ``SOAK_FLOWS`` (3 at once),
``SOAK_SEED``, ``SOAK_BROKER_RESTARTS``, ``SOAK_DB_RESTARTS``, ``SOAK_AGENT_DROPS``.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from hspm.devstack.soak.run import Settings, report, soak


async def _main(settings: Settings) -> int:
    # SIGTERM ends the soak as Ctrl-C does: the task is cancelled and every ``finally``
    # stops and removes what was started.
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    outcome = await soak(settings)
    print(report(outcome, settings), flush=True)
    return 1 if outcome.problems else 0


def main() -> int:
    settings = Settings.from_env()
    try:
        return asyncio.run(_main(settings))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("soak: interrupted; everything it started is stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
