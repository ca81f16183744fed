"""Converging one instance: health-gated rollouts, rollback, drift, stop, strays."""

from __future__ import annotations

from pathlib import Path

import pytest

from hspm.client.platform_agent.converge import Converger
from hspm.client.platform_agent.desired import InstanceSpec, TaskSpec
from hspm.client.platform_agent.drivers.base import Unit
from hspm.client.platform_agent.state import State


def spec(build: str, state: str = "running", replicas: int = 2, instance: str = "i-1") -> InstanceSpec:
    task = TaskSpec("web", "web", replicas, None, 64, None, (8080,), (), ())
    return InstanceSpec(instance, "pl", "p", build, None, f"r/x@sha256:{build * 64}"[:80], state, (task,))


@pytest.fixture
def parts(tmp_path: Path, driver):
    state = State(tmp_path / "agent.db")
    return Converger(driver, state, health_timeout=1.0), driver, state


async def test_a_healthy_rollout_replaces_the_old_generation(parts) -> None:
    converger, driver, _ = parts
    first = await converger.apply(spec("a"))
    assert first.reported_state == "running" and first.deployed_at
    second = await converger.apply(spec("b"))
    assert second.reported_state == "running" and second.launch_bindings["build_id"] == "b"
    assert driver.builds("i-1") == {spec("b").fingerprint}


async def test_an_unhealthy_rollout_is_rolled_back_and_not_retried(parts) -> None:
    converger, driver, _ = parts
    deployed = await converger.apply(spec("a"))
    driver.unhealthy.add("b")
    outcome = await converger.apply(spec("b"))
    assert outcome.reported_state == "rolled_back"
    assert outcome.launch_bindings["build_id"] == "a" and outcome.deployed_at == deployed.deployed_at
    assert "did not become healthy" in outcome.errors[0]
    assert driver.builds("i-1") == {spec("a").fingerprint}
    starts = driver.starts
    again = await converger.apply(spec("b"))  # a periodic pass: the refused generation stays refused
    assert again.reported_state == "rolled_back" and driver.starts == starts + 1  # only the old one re-armed


async def test_a_first_deployment_that_is_unhealthy_fails(parts) -> None:
    converger, driver, _ = parts
    driver.unhealthy.add("a")
    outcome = await converger.apply(spec("a"))
    assert outcome.reported_state == "failed" and driver.units == {}


async def test_drift_is_repaired_and_the_deployment_time_kept(parts) -> None:
    converger, driver, _ = parts
    first = await converger.apply(spec("a"))
    victim = next(iter(driver.units))
    driver.units[victim] = Unit("i-1", spec("a").fingerprint, victim, running=False)
    repaired = await converger.apply(spec("a"))
    assert repaired.reported_state == "running" and repaired.deployed_at == first.deployed_at
    assert all(u.running for u in driver.units.values()) and len(driver.units) == 2


async def test_stopping_and_strays(parts) -> None:
    converger, driver, state = parts
    await converger.apply(spec("a"))
    await converger.apply(spec("a", instance="i-2"))
    assert (await converger.apply(spec("a", state="stopped"))).reported_state == "stopped"
    assert driver.builds("i-1") == set()
    assert await converger.sweep({}) == ["i-2"]
    assert driver.units == {} and state.deployment("i-2") is None


async def test_a_recall_that_stopped_an_instance_still_holds_after_the_stop(parts) -> None:
    """Stopping an instance a recall stopped must not forget the recall's override: the
    next periodic pass would run the recalled build again."""
    converger, driver, state = parts
    await converger.apply(spec("a"))
    state.put_override("i-1", "", "r-1", "stop")
    assert (await converger.apply(spec("a", state="stopped"))).reported_state == "stopped"
    assert state.override("i-1") == ("", "r-1", "stop")
    await converger.remove("i-1")  # the instance itself removed: nothing of it is kept
    assert state.override("i-1") is None and driver.units == {}
