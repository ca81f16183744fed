"""Taking stream items in: the position moves with the change, in one durable transaction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hspm.client.agent import checksum
from hspm.client.platform_agent import events
from hspm.client.platform_agent.state import State

IMAGE = "r/x@sha256:" + "ab" * 32


def instance(build: str = "b-1", state: str = "running", **extra: Any) -> dict[str, Any]:
    return {
        "id": "i-1",
        "build": {"id": build, "image": IMAGE, "product": {"id": "p-1"}},
        "platform": {"id": "pl"},
        "desired_state": state,
    } | extra


def event(kind: str, model: dict[str, Any], resource: str = "instance") -> dict[str, Any]:
    return {"type": "event", "resource_type": resource, "event_type": kind, "model": model}


def test_a_crash_inside_the_transaction_keeps_neither_change_nor_position(tmp_path: Path) -> None:
    state = State(tmp_path / "agent.db")
    with pytest.raises(RuntimeError), state.transaction():
        events.record_event(state, event("created", {"instance": instance()}))
        state.set_position("e", 1)
        raise RuntimeError("killed")
    assert state.instances() == {} and state.position() == (None, None)
    with state.transaction():
        events.record_event(state, event("created", {"instance": instance()}))
        state.set_position("e", 1)
    state.close()
    again = State(tmp_path / "agent.db")  # a restarted agent
    assert again.position() == ("e", 1) and list(again.instances()) == ["i-1"]


def test_instance_events_say_what_to_converge(tmp_path: Path) -> None:
    state = State(tmp_path / "agent.db")
    assert events.record_event(state, event("created", {"instance": instance()})).converge == {"i-1"}
    echo = instance(launch_bindings={"x": 1}, reported_state="running")
    assert events.record_event(state, event("updated", {"instance": echo})) == events.Work()
    assert events.record_event(state, event("updated", {"instance": instance("b-2")})).converge == {"i-1"}
    assert events.record_event(state, event("destroyed", {"instance": instance()})).remove == {"i-1"}
    assert state.instances() == {}


def test_recalls_and_entitlements_are_recorded(tmp_path: Path) -> None:
    state = State(tmp_path / "agent.db")
    recall = {"id": "r-1", "severity": "critical", "affected_builds": ["b-1"]}
    work = events.record_event(state, event("security_notice", {"recall": recall}, "product"))
    assert work.recalls == ["r-1"] and state.unapplied_recalls() == ["r-1"]
    ended = {"entitlement": {"id": "e-1", "product": {"id": "p-1"}}}
    assert events.record_event(state, event("revoked", ended, "entitlement")).products == {"p-1"}
    assert state.revoked() == {"e-1"}
    events.record_event(state, event("granted", ended, "entitlement"))
    assert state.revoked() == set()


def test_a_full_state_replaces_the_desired_one_and_a_matching_checksum_changes_nothing(
    tmp_path: Path,
) -> None:
    state = State(tmp_path / "agent.db")
    state.put_instance(instance())
    state.put_document("b-2", "p-1", {})
    entries = [
        {"id": "i-2", "build_id": "b-2", "product_id": "p-1", "image": IMAGE, "desired_state": "running"}
    ]
    work = events.record_full_state(state, {"type": "resync", "instances": entries})
    assert work.everything and list(state.instances()) == ["i-2"]
    assert state.instances()["i-2"]["build"]["product"]["id"] == "p-1"  # known from the kept document
    same = {"type": "state", "instances": entries, "checksum": checksum(entries)}
    assert not events.record_full_state(state, same).everything


def test_a_first_resync_names_the_product_of_an_instance_never_seen(tmp_path: Path) -> None:
    """An agent started after its instances were made learns their products from the resync
    alone, so it can fetch their build documents and deploy them at once."""
    state = State(tmp_path / "agent.db")
    entries = [
        {"id": "i-9", "build_id": "b-9", "product_id": "p-9", "image": IMAGE, "desired_state": "running"}
    ]
    events.record_full_state(state, {"type": "resync", "instances": entries})
    assert state.instances()["i-9"]["build"]["product"]["id"] == "p-9"
