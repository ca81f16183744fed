"""The event contract: registry, naming, tolerance, and JSON-schema snapshots.

The snapshots in ``docs/events/`` make every change to an event visible in review.
``HSPM_UPDATE_SNAPSHOTS=1 pytest libs/common/tests/test_events_contract.py`` rewrites
them after an intended change (fields are only ever added, and optional).
"""

from __future__ import annotations

import json
import os
import re
import types
import typing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from pydantic import BaseModel, ValidationError

from hspm.common import events
from hspm.common.events import EVENT_TYPES, Event, UnknownEventType, parse

SNAPSHOT_DIR = Path(__file__).resolve().parents[3] / "docs" / "events"
UPDATE = os.environ.get("HSPM_UPDATE_SNAPSHOTS") == "1"

# <producer>.<entity>.<past_tense>, with an optional .vN for a breaking successor type.
TYPE_PATTERN = re.compile(
    r"^(?P<producer>[a-z][a-z0-9_]*)\.(?P<entity>[a-z][a-z0-9_]*)\.(?P<verb>[a-z][a-z_]*)"
    r"(?:\.v[2-9][0-9]*)?$"
)
# Past participles that do not end in -ed; extend when a new one is needed.
IRREGULAR_PAST = frozenset({"sent", "made", "begun", "won", "lost", "paid", "withdrawn", "set"})

ALL_EVENTS = sorted(EVENT_TYPES.values(), key=lambda cls: cls.TYPE)


def _defined_events(cls: type[Event] = Event) -> set[type[Event]]:
    """Every subclass defined in the events package (tests may define throwaway ones)."""
    found = set()
    for sub in cls.__subclasses__():
        if sub.__module__.startswith("hspm.common.events."):
            found.add(sub)
        found |= _defined_events(sub)
    return found


def _sample_value(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return _sample_value(next(a for a in typing.get_args(annotation) if a is not type(None)))
    if origin is list:
        return [_sample_value(typing.get_args(annotation)[0])]
    if origin is dict:
        key, value = typing.get_args(annotation)
        return {_sample_value(key): _sample_value(value) if value is not Any else "sample"}
    if origin is typing.Literal:
        return typing.get_args(annotation)[0]
    samples: dict[Any, Any] = {
        UUID: uuid4(),
        str: "sample",
        bool: True,
        int: 65_536,
        float: 0.5,
        datetime: datetime(2026, 1, 2, tzinfo=UTC),
    }
    if annotation in samples:
        return samples[annotation]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        # Nested parts of an event (a build's configurations): every field set as well.
        return annotation(**{n: _sample_value(f.annotation) for n, f in annotation.model_fields.items()})
    raise AssertionError(f"add a sample for {annotation!r} to _sample_value")


def sample(cls: type[Event]) -> Event:
    """An instance with every field set, the optional ones included."""
    values = {
        name: _sample_value(info.annotation)
        for name, info in cls.model_fields.items()
        if name not in ("event_id", "occurred_at")
    }
    values["occurred_at"] = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    return cls(**values)


def schema_text(cls: type[Event]) -> str:
    return json.dumps(cls.model_json_schema(), sort_keys=True, indent=2) + "\n"


class TestRegistry:
    def test_keys_are_each_class_type(self) -> None:
        assert EVENT_TYPES
        for key, cls in EVENT_TYPES.items():
            assert key == cls.TYPE, cls

    def test_every_event_class_is_registered_under_a_unique_type(self) -> None:
        classes = _defined_events()
        types_ = [cls.TYPE for cls in classes]
        assert len(types_) == len(set(types_)), sorted(types_)
        assert set(EVENT_TYPES.values()) == classes

    def test_registry_refuses_a_type_defined_twice(self, monkeypatch: pytest.MonkeyPatch) -> None:
        one, two = types.ModuleType("one"), types.ModuleType("two")

        class A(Event):
            TYPE = "test.thing.happened"

        class B(Event):
            TYPE = "test.thing.happened"

        one.A, two.B = A, B  # type: ignore[attr-defined]
        monkeypatch.setattr(events, "_MODULES", (one, two))
        with pytest.raises(RuntimeError, match="test.thing.happened"):
            events._collect()


class TestNaming:
    @pytest.mark.parametrize("cls", ALL_EVENTS, ids=lambda c: c.TYPE)
    def test_type_is_producer_entity_past_tense(self, cls: type[Event]) -> None:
        match = TYPE_PATTERN.match(cls.TYPE)
        assert match, f"{cls.TYPE!r} is not <producer>.<entity>.<past_tense> in lowercase"
        verb = match["verb"]
        assert verb.endswith("ed") or verb in IRREGULAR_PAST, f"{verb!r} is not past tense"

    @pytest.mark.parametrize("cls", ALL_EVENTS, ids=lambda c: c.TYPE)
    def test_producer_is_the_defining_module(self, cls: type[Event]) -> None:
        assert cls.__module__ == f"hspm.common.events.{cls.TYPE.split('.')[0]}"

    @pytest.mark.parametrize("cls", ALL_EVENTS, ids=lambda c: c.TYPE)
    def test_class_is_named_entity_verb(self, cls: type[Event]) -> None:
        _, entity, verb = cls.TYPE.split(".")[:3]
        camel = "".join(part.capitalize() for part in f"{entity}_{verb}".split("_"))
        assert cls.__name__ == camel


class TestTolerance:
    @pytest.mark.parametrize("cls", ALL_EVENTS, ids=lambda c: c.TYPE)
    def test_events_are_frozen(self, cls: type[Event]) -> None:
        event = sample(cls)
        with pytest.raises(ValidationError, match="frozen"):
            event.producer = "someone else"  # type: ignore[misc]

    @pytest.mark.parametrize("cls", ALL_EVENTS, ids=lambda c: c.TYPE)
    def test_old_consumer_ignores_fields_a_newer_producer_added(self, cls: type[Event]) -> None:
        body = json.loads(sample(cls).model_dump_json())
        body["added_in_a_later_release"] = {"nested": [1, 2]}
        event = parse(cls.TYPE, json.dumps(body).encode())
        assert not hasattr(event, "added_in_a_later_release")
        assert event.model_dump(mode="json") == {
            k: v for k, v in body.items() if k != "added_in_a_later_release"
        }

    def test_naive_timestamp_is_refused(self) -> None:
        cls = ALL_EVENTS[0]
        body = json.loads(sample(cls).model_dump_json())
        body["occurred_at"] = "2026-01-02T03:04:05"
        with pytest.raises(ValidationError, match="occurred_at"):
            parse(cls.TYPE, json.dumps(body).encode())


class TestParse:
    @pytest.mark.parametrize("cls", ALL_EVENTS, ids=lambda c: c.TYPE)
    def test_round_trip(self, cls: type[Event]) -> None:
        event = sample(cls)
        again = parse(cls.TYPE, event.model_dump_json().encode())
        assert type(again) is cls
        assert again == event

    def test_unknown_type_raises(self) -> None:
        with pytest.raises(UnknownEventType, match="nobody.thing.happened"):
            parse("nobody.thing.happened", b"{}")

    def test_unknown_type_is_a_value_error(self) -> None:
        # The consumer dead-letters on ValueError; an unknown type must be one.
        assert issubclass(UnknownEventType, ValueError)

    def test_body_of_another_type_is_refused(self) -> None:
        by_type = {cls.TYPE: sample(cls) for cls in ALL_EVENTS}
        user_created = by_type["identity.user.created"]
        with pytest.raises(ValidationError, match="group_id"):
            parse("identity.group.deleted", user_created.model_dump_json().encode())


class TestSchemaSnapshots:
    """``docs/events/<TYPE>.json`` is exactly ``model_json_schema()`` of every event."""

    def test_snapshots_match_the_code(self) -> None:
        expected = {f"{cls.TYPE}.json": schema_text(cls) for cls in ALL_EVENTS}
        if UPDATE:
            SNAPSHOT_DIR.mkdir(parents=True, exist_ok=True)
            for stale in set(p.name for p in SNAPSHOT_DIR.glob("*.json")) - set(expected):
                (SNAPSHOT_DIR / stale).unlink()
            for name, text in expected.items():
                (SNAPSHOT_DIR / name).write_text(text, encoding="utf-8")

        committed = {p.name: p.read_text(encoding="utf-8") for p in SNAPSHOT_DIR.glob("*.json")}
        hint = "; run HSPM_UPDATE_SNAPSHOTS=1 pytest libs/common/tests/test_events_contract.py"
        missing = sorted(set(expected) - set(committed))
        extra = sorted(set(committed) - set(expected))
        assert not missing, f"no snapshot for {missing}{hint}"
        assert not extra, f"snapshots of no event: {extra}{hint}"
        changed = {
            name: _describe(committed[name], text)
            for name, text in expected.items()
            if committed[name] != text
        }
        assert not changed, f"event schemas changed: {changed}{hint}"


def _describe(old_text: str, new_text: str) -> str:
    """What a reviewer needs: which properties came or went, and what became required."""
    old, new = json.loads(old_text), json.loads(new_text)
    old_props, new_props = set(old.get("properties", {})), set(new.get("properties", {}))
    newly_required = set(new.get("required", [])) - set(old.get("required", []))
    parts = []
    if removed := sorted(old_props - new_props):
        parts.append(f"BREAKING removed {removed}")
    if newly_required:
        parts.append(f"BREAKING now required {sorted(newly_required)}")
    if added := sorted(new_props - old_props):
        parts.append(f"added {added}")
    return ", ".join(parts) or "types or descriptions changed"
