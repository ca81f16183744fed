"""Status reports: sent when they change, and sent again on a new connection, since one
written to a socket that then dropped may never have reached the notifier."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hspm.client.platform_agent.converge import Outcome
from hspm.client.platform_agent.metrics import Metrics
from hspm.client.platform_agent.reports import Reporter
from hspm.client.platform_agent.state import State


class Socket:
    """The agent client as the reporter sees it: connected or not, and what was written."""

    def __init__(self) -> None:
        self.connected = True
        self.connections = 1
        self.written: list[dict[str, Any]] = []

    async def send(self, frame: dict[str, Any]) -> None:
        self.written.append(frame)

    def reconnect(self) -> None:
        self.connections += 1


def reporter(tmp_path: Path, socket: Socket) -> Reporter:
    return Reporter(State(tmp_path / "agent.db"), socket, Metrics())  # type: ignore[arg-type]


async def test_an_unchanged_report_is_not_sent_twice_on_one_connection(tmp_path: Path) -> None:
    socket = Socket()
    reports = reporter(tmp_path, socket)
    await reports.send(Outcome("i-1", "running"))
    await reports.send(Outcome("i-1", "running"))
    await reports.flush()
    assert [f["reported_state"] for f in socket.written] == ["running"]


async def test_the_last_report_goes_out_again_on_the_next_connection(tmp_path: Path) -> None:
    socket = Socket()
    reports = reporter(tmp_path, socket)
    await reports.send(Outcome("i-1", "running"))  # written, then the gateway died with it
    socket.reconnect()
    await reports.flush()
    assert [f["instance_id"] for f in socket.written] == ["i-1", "i-1"]
    await reports.flush()  # once per connection, not on every flush
    assert len(socket.written) == 2
