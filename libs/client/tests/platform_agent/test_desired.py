"""The desired model: one spec from the instance model and the build's document."""

from __future__ import annotations

from typing import Any

import pytest

from hspm.client.platform_agent.desired import Inputs, InstanceSpec, SpecError, instance_spec, replicas
from hspm.client.platform_agent.environment import resolve

DIGEST = "sha256:" + "ab" * 32
OTHER = "sha256:" + "cd" * 32


def model(image: str = f"registry.test/isv/app@{DIGEST}", state: str = "running") -> dict[str, Any]:
    return {
        "id": "i-1",
        "build": {"id": "b-1", "version": "1.0.0", "image": image, "product": {"id": "p-1"}},
        "platform": {"id": "pl-1"},
        "desired_state": state,
    }


def document(*tasks: dict[str, Any], image: str = f"registry.test/isv/app@{DIGEST}") -> dict[str, Any]:
    default = {"label": "web", "ports": [8080], "memory_maximum": 64, "instances_minimum": 2}
    return {
        "product": {"build": {"binary": {"image": image}}},
        "configuration": [
            {"default": False, "task": [{"label": "other"}]},
            {"default": True, "task": list(tasks) or [default]},
        ],
    }


class TestSpec:
    def test_the_default_configurations_tasks_are_run_by_the_instances_digest(self) -> None:
        spec = instance_spec(model(), document(), Inputs())
        assert spec.image.endswith(DIGEST) and spec.digest == DIGEST
        (task,) = spec.tasks
        assert (task.name, task.replicas, task.memory_max_mib, task.ports) == ("web", 2, 64, (8080,))
        assert dict(task.env) == {"PORT": "8080"}

    def test_a_document_naming_another_digest_is_refused(self) -> None:
        with pytest.raises(SpecError, match="not the instance's image"):
            instance_spec(model(), document(image=f"registry.test/isv/app@{OTHER}"), Inputs())

    def test_a_movable_tag_is_refused(self) -> None:
        with pytest.raises(SpecError, match="not named by a sha256 digest"):
            instance_spec(model("registry.test/isv/app:1.0"), document(), Inputs())

    def test_options_cron_and_injected_claims(self) -> None:
        doc = document({"label": "Nightly Export!", "cron": "0 2 * * *", "options": ["--mode", "batch"]})
        (task,) = instance_spec(model(), doc, Inputs(injected={"HSPM_ENTITLEMENT_ID": "e"})).tasks
        assert task.name == "nightly-export" and task.cron == "0 2 * * *"
        assert task.args == ("--mode", "batch") and dict(task.env) == {"HSPM_ENTITLEMENT_ID": "e"}

    def test_labels_with_one_slug_get_distinct_names(self) -> None:
        spec = instance_spec(model(), document({"label": "Web"}, {"label": "web"}), Inputs())
        assert [t.name for t in spec.tasks] == ["web", "web-2"]

    def test_the_fingerprint_follows_what_shapes_containers_only(self) -> None:
        a = instance_spec(model(), document(), Inputs())
        assert a.fingerprint == instance_spec(model(state="stopped"), document(), Inputs()).fingerprint
        other = instance_spec(model(), document(), Inputs(injected={"X": "1"}))
        assert other.fingerprint != a.fingerprint
        assert InstanceSpec.from_json(a.to_json()) == a

    @pytest.mark.parametrize(
        ("minimum", "maximum", "expected"), [(None, None, 1), (0, 0, 1), (3, 0, 3), (3, 2, 2), (2, 5, 2)]
    )
    def test_replicas_without_an_autoscaler(
        self, minimum: int | None, maximum: int | None, expected: int
    ) -> None:
        assert replicas(minimum, maximum) == expected


class TestEnvironment:
    DECLARED = [
        {"key": "URL", "required": True, "pattern": "https?://.+"},
        {"key": "MODE", "default": "safe"},
        {"key": "OPTIONAL"},
    ]

    def test_values_defaults_and_undeclared_keys(self) -> None:
        env, errors = resolve(self.DECLARED, {"URL": "https://otel.local", "UNDECLARED": "x"})
        assert errors == [] and env == {"URL": "https://otel.local", "MODE": "safe"}

    def test_every_problem_is_reported_at_once(self) -> None:
        declared = [*self.DECLARED, {"key": "lower_case"}, {"key": "BAD", "pattern": "("}]
        _, errors = resolve(declared, {"MODE": "x", "BAD": "y"})
        assert any("URL is required" in e for e in errors)
        assert any("lower_case" in e and "A-Z" in e for e in errors)
        assert any("is not a valid RE2 regular expression" in e for e in errors)
        _, mismatch = resolve(self.DECLARED, {"URL": "ftp://nope"})
        assert mismatch == ["URL: the value does not match the pattern https?://.+"]

    def test_a_backtracking_pattern_runs_in_linear_time_or_is_refused(self) -> None:
        """Patterns run in RE2, as the catalog runs them: ``(a+)+$`` on a long non-match
        would take Python's ``re`` minutes; a backreference is refused, not run."""
        declared = [{"key": "EVIL", "pattern": "(a+)+$"}, {"key": "BACK", "pattern": "(a)\\1"}]
        _, errors = resolve(declared, {"EVIL": "a" * 5000 + "!", "BACK": "aa"})
        assert errors[0] == "EVIL: the value does not match the pattern (a+)+$"
        assert "BACK: the build's pattern is not a valid RE2 regular expression" in errors[1]

    def test_a_task_with_an_unmet_requirement_cannot_run(self) -> None:
        doc = document({"label": "web", "environment": self.DECLARED})
        with pytest.raises(SpecError, match="URL is required"):
            instance_spec(model(), doc, Inputs())
