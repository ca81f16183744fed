"""The registry of every event type: one definition, shared by producer and consumers."""

from __future__ import annotations

from hspm.common.events import catalog, curation, identity, licensing, validator
from hspm.common.events.base import Event

_MODULES = (identity, catalog, curation, validator, licensing)


def _collect() -> dict[str, type[Event]]:
    found: dict[str, type[Event]] = {}
    for module in _MODULES:
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, Event) and obj is not Event:
                if obj.TYPE in found and found[obj.TYPE] is not obj:
                    raise RuntimeError(f"event type {obj.TYPE} defined twice")
                found[obj.TYPE] = obj
    return found


EVENT_TYPES: dict[str, type[Event]] = _collect()


class UnknownEventType(ValueError):
    """A routing key no event class declares."""


def parse(event_type: str, body: bytes) -> Event:
    """Validate a message body as the event class its routing key names."""
    cls = EVENT_TYPES.get(event_type)
    if cls is None:
        raise UnknownEventType(event_type)
    return cls.model_validate_json(body)


__all__ = ["EVENT_TYPES", "Event", "UnknownEventType", "parse"]
