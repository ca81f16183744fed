"""The soak itself works: three rounds of faults (a service killed, the broker restarted,
an agent dropped) on a private database and broker, flows running throughout, and the
verdict says nothing was lost, doubled or dead-lettered. ``make soak`` runs a hundred."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hspm.devstack.soak.infra import RABBIT_BIN

pytestmark = [
    pytest.mark.timeout(600),
    pytest.mark.skipif(
        not (RABBIT_BIN / "rabbitmq-server").exists() or not shutil.which("runuser"),
        reason="needs a RabbitMQ installation and runuser",
    ),
]
REPO = Path(__file__).resolve().parents[2]


def test_a_short_soak_loses_nothing_and_every_service_comes_back() -> None:
    env = {
        **os.environ,
        "SOAK_ROUNDS": "3",
        "SOAK_BROKER_RESTARTS": "1",
        "SOAK_DB_RESTARTS": "0",
        "SOAK_AGENT_DROPS": "1",
        "SOAK_FLOWS": "2",
    }
    done = subprocess.run(
        [sys.executable, "-m", "hspm.devstack.soak"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    printed = done.stdout
    assert done.returncode == 0, (printed + done.stderr)[-6000:]
    assert "rounds: 3" in printed and "broker restarts: 1" in printed, printed
    assert "lost 0" in printed and "problems: 0" in printed, printed
    assert "rabbitmq 1" in printed and "agent 1" in printed, printed
