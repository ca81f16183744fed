"""Status reports to the marketplace: sent when they change, kept until sent.

Each instance's last report is in the agent's state with whether it was sent; an
unchanged one is not sent again on the same connection (the notifier echoes every report
as an instance change, so resending would loop), and one that could not be sent goes out
on the next connection. A report counts as sent once written to the socket, but a socket
that drops right after (the gateway or the notifier killed) may have lost it: so each
instance's last report goes out once more on every new connection. The echo of a report
the notifier already had changes nothing the agent runs, so this does not loop.
"""

from __future__ import annotations

import logging
import secrets

from hspm.client.agent import Agent
from hspm.client.platform_agent import tracing
from hspm.client.platform_agent.converge import Outcome
from hspm.client.platform_agent.metrics import Metrics
from hspm.client.platform_agent.state import State

log = logging.getLogger(__name__)


class Reporter:
    def __init__(self, state: State, client: Agent, metrics: Metrics) -> None:
        self.state = state
        self.client = client
        self.metrics = metrics
        self.connection = 0  # the client's connection the reports were last sent on

    async def send(self, outcome: Outcome) -> None:
        body = outcome.report()
        last = self.state.report(outcome.instance_id)
        if last is not None and last[0] == body and last[1]:
            return
        self.state.put_report(outcome.instance_id, body, sent=False)
        log.info(
            "instance.reported",
            extra={
                "instance_id": outcome.instance_id,
                "state": outcome.reported_state,
                "errors": list(outcome.errors),
            },
        )
        await self.flush()

    async def flush(self) -> None:
        """Send every unsent report while connected; the rest wait for the next connection."""
        if self.client.connected and self.client.connections != self.connection:
            self.state.mark_reports_unsent()
            self.connection = self.client.connections
        for body in self.state.unsent_reports():
            if not self.client.connected:
                return
            try:
                frame = {"type": "report", "ref": secrets.token_hex(4), **body, **tracing.carrier()}
                await self.client.send(frame)
            except (ConnectionError, RuntimeError):
                return
            self.state.put_report(str(body["instance_id"]), body, sent=True)
            self.metrics.inc("hspm_agent_reports_sent_total")

    def forget(self, instance_id: str) -> None:
        self.state.drop_report(instance_id)

    def running(self) -> int:
        return sum(
            1
            for instance_id in self.state.instances()
            if (found := self.state.report(instance_id)) and found[0].get("reported_state") == "running"
        )
