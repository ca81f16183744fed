"""``/healthz`` says the agent is stuck when its convergence passes stop finishing."""

from __future__ import annotations

from hspm.client.platform_agent.loop import STUCK_AFTER_PERIODS, passes_recent

PERIOD = 60.0
LIMIT = STUCK_AFTER_PERIODS * PERIOD


def test_a_fresh_agent_is_healthy_until_its_first_pass_is_overdue() -> None:
    assert passes_recent(None, started=1000.0, now=1000.0 + LIMIT, resync_seconds=PERIOD)
    assert not passes_recent(None, started=1000.0, now=1000.0 + LIMIT + 1, resync_seconds=PERIOD)


def test_a_recent_pass_is_healthy_a_stale_one_is_not() -> None:
    assert passes_recent(5000.0, started=0.0, now=5000.0 + PERIOD, resync_seconds=PERIOD)
    assert not passes_recent(5000.0, started=0.0, now=5000.0 + LIMIT + 1, resync_seconds=PERIOD)
