"""Taking a stream item into the agent's state: what changes, and what must then be done.

Recording is pure bookkeeping, done in the transaction that also moves the stream
position (``PlatformAgent.take``); the returned ``Work`` is carried out afterwards. A
crash in between loses nothing: on start-up the agent converges everything it recorded
and applies every recall it recorded but had not applied.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hspm.client.agent import checksum
from hspm.client.platform_agent.state import State

log = logging.getLogger(__name__)


@dataclass
class Work:
    """What an item asks for once recorded."""

    converge: set[str] = field(default_factory=set)
    remove: set[str] = field(default_factory=set)
    recalls: list[str] = field(default_factory=list)
    everything: bool = False
    products: set[str] = field(default_factory=set)


def desired(model: Mapping[str, Any]) -> dict[str, str]:
    """The part of an instance the checksum covers (as the notifier computes it)."""
    build = model.get("build") or {}
    return {
        "id": str(model["id"]),
        "build_id": str(build.get("id")),
        "product_id": str((build.get("product") or {}).get("id")),
        "image": str(build.get("image")),
        "desired_state": str(model.get("desired_state")),
    }


def record_event(state: State, frame: Mapping[str, Any]) -> Work:
    resource, kind = frame.get("resource_type"), frame.get("event_type")
    model = frame.get("model") or {}
    if resource == "instance":
        return _instance(state, kind, model["instance"])
    if resource == "product" and kind == "security_notice":
        recall = model["recall"]
        state.put_recall(str(recall["id"]), recall)
        return Work(recalls=[str(recall["id"])])
    if resource == "entitlement":
        return _entitlement(state, str(kind), model["entitlement"])
    log.info("notice", extra={"resource_type": resource, "event_type": kind, "detail": frame.get("message")})
    return Work()


def _instance(state: State, kind: Any, model: dict[str, Any]) -> Work:
    instance_id = str(model["id"])
    if kind == "destroyed":
        state.drop_instance(instance_id)
        return Work(remove={instance_id})
    before = state.instance(instance_id)
    state.put_instance(model)
    # The echo of the agent's own report changes nothing it runs.
    if before is not None and desired(before) == desired(model):
        return Work()
    return Work(converge={instance_id})


def _entitlement(state: State, kind: str, entitlement: Mapping[str, Any]) -> Work:
    entitlement_id = str(entitlement["id"])
    product_id = str((entitlement.get("product") or {}).get("id", ""))
    if kind == "granted":
        state.unrevoke(entitlement_id)
    else:
        state.revoke(entitlement_id)
    return Work(products={product_id})


def record_full_state(state: State, frame: Mapping[str, Any]) -> Work:
    """A ``resync`` or ``state`` frame: the marketplace's whole desired state at one position."""
    entries: Sequence[Mapping[str, Any]] = frame.get("instances") or []
    known = state.instances()
    work = Work(everything=True)
    if frame.get("type") == "state" and frame.get("checksum") == checksum(
        [desired(m) for m in known.values()]
    ):
        work.everything = False  # the periodic check: nothing drifted
    else:
        for entry in entries:
            state.put_instance(_model_from(state, entry, known.get(str(entry["id"]))))
        for instance_id in set(known) - {str(e["id"]) for e in entries}:
            state.drop_instance(instance_id)
    for pending in frame.get("pending_recalls") or []:
        recall_id = str(pending["recall_id"])
        if state.recall(recall_id) is None:
            log.warning("recall.unknown", extra={"recall_id": recall_id, "severity": pending.get("severity")})
        else:
            work.recalls.append(recall_id)
    return work


def _model_from(state: State, entry: Mapping[str, Any], before: dict[str, Any] | None) -> dict[str, Any]:
    """An instance model from a full-state entry, keeping what the agent knew of it before."""
    build_id = str(entry["build_id"])
    model: dict[str, Any] = dict(before) if before else {"id": str(entry["id"])}
    old_build = model.get("build") or {}
    product_id = (
        entry.get("product_id") or state.product_of(build_id) or (old_build.get("product") or {}).get("id")
    )
    version = old_build.get("version") if old_build.get("id") == build_id else None
    model["build"] = {
        "id": build_id,
        "image": entry["image"],
        "version": version,
        "product": {"id": product_id},
    }
    model["desired_state"] = entry["desired_state"]
    return model
