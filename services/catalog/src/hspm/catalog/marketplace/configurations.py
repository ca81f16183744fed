"""Checks of a document's configurations and their tasks: what a platform needs to run it."""

from __future__ import annotations

import re
from typing import Any

from hspm.catalog.builds import rules as build_rules
from hspm.catalog.marketplace.checks import Checker, is_cron, is_uuid, whole_number

ENV_KEY = re.compile(r"^[A-Z0-9_]+$")
# The reference model's task field names, accepted for the document's (``label``...).
TASK_ALIASES = {
    "name": "label",
    "minimum": "instances_minimum",
    "maximum": "instances_maximum",
    "memory": "memory_maximum",
}


def unaliased_task(task: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The task with each alias under the document's name, and the aliases that disagree
    with a value given under that name (those are left out)."""
    out = dict(task)
    conflicts = []
    for alias, name in TASK_ALIASES.items():
        if alias not in out:
            continue
        value = out.pop(alias)
        if name in out and out[name] != value:
            conflicts.append(alias)
        else:
            out[name] = value
    return out, conflicts


class ConfigurationChecks(Checker):
    """Configurations, tasks, memory and instances, ports, schedules and the environment."""

    def configurations(self, value: Any, path: str) -> None:
        defaults: list[str] = []
        task_ids: set[str] = set()
        for item_path, item in self.items(value, path, min_items=1):
            config = self.obj(item, item_path, ("default", "task"))
            if config is None:
                continue
            self.boolean(config, "default", item_path)
            if config.get("default") is True:
                defaults.append(item_path)
            if "task" in config:
                self.tasks(config["task"], f"{item_path}.task", task_ids)
        if len(defaults) > 1:
            self.error(path, "default-configuration", "exactly one configuration may be the default")
        elif not defaults and isinstance(value, list) and value:
            self.warn(path, "default-configuration", "no configuration is the default; the first one is used")

    def tasks(self, value: Any, path: str, task_ids: set[str]) -> None:
        labels: set[str] = set()
        configuration_ids: set[str] = set()
        for item_path, item in self.items(value, path, min_items=1):
            task = self.task_fields(item, item_path)
            if task is None:
                continue
            self.task_identity(task, item_path, task_ids, configuration_ids)
            label = self.string(task, "label", item_path, required=False)
            if label is not None:
                self.task_label(label, f"{item_path}.label", labels)
            self.memory(task, item_path)
            self.instances(task, item_path)
            self.task_arrays(task, item_path)
            self.cron(task, item_path)
            self.environment(task, item_path)
        if len(configuration_ids) > 1:
            self.error(path, "configuration-id", "tasks of one configuration must share one configuration_id")

    def task_fields(self, item: Any, path: str) -> dict[str, Any] | None:
        """The task object under the document's names (aliases accepted), ``label`` required."""
        if self.obj(item, path) is None:
            return None
        task, conflicts = unaliased_task(item)
        for alias in conflicts:
            name = TASK_ALIASES[alias]
            self.error(f"{path}.{alias}", "alias", f"is another name for {name} and disagrees with it")
        if "label" not in task:
            self.error(f"{path}.label", "required", "is required")
        return task

    def task_identity(self, task: dict[str, Any], path: str, seen: set[str], config_ids: set[str]) -> None:
        # build.json requires ``id`` without defining it (§6.4): missing only warns.
        if "id" not in task:
            self.warn(f"{path}.id", "task-id", "is missing; the marketplace assigns one")
        else:
            self.uuid(task, "id", path)
            if is_uuid(task["id"]):
                if task["id"].lower() in seen:
                    self.error(f"{path}.id", "unique", "is used by another task")
                seen.add(task["id"].lower())
        self.uuid(task, "configuration_id", path, required=False)
        if is_uuid(task.get("configuration_id")):
            config_ids.add(task["configuration_id"].lower())

    def task_label(self, label: str, path: str, labels: set[str]) -> None:
        if not 1 <= len(label) <= 200:
            self.error(path, "length", "must be 1 to 200 characters")
        elif label in labels:
            self.error(path, "unique", "is used by another task of this configuration")
        labels.add(label)

    def memory(self, task: dict[str, Any], path: str) -> None:
        """The maximum RAM MUST be declared (spec §8.3 rule 10); MiB, whole numbers."""
        top = whole_number(task.get("memory_maximum"))
        low = whole_number(task.get("memory_minimum"))
        if "memory_maximum" not in task:
            self.error(f"{path}.memory_maximum", "memory", "is required: the most RAM (MiB) the task uses")
        elif top is None or top < 1:
            self.error(f"{path}.memory_maximum", "memory", "must be a whole number of MiB, at least 1")
        if "memory_minimum" in task and (low is None or low < 1):
            self.error(f"{path}.memory_minimum", "memory", "must be a whole number of MiB, at least 1")
        elif low is not None and top is not None and 1 <= top < low:
            self.error(f"{path}.memory_minimum", "memory", "must not exceed memory_maximum")

    def instances(self, task: dict[str, Any], path: str) -> None:
        for key in ("instances_minimum", "instances_maximum"):
            count = whole_number(task.get(key))
            if key in task and (count is None or count < 0):
                self.error(f"{path}.{key}", "instances", "must be a whole number, at least 0")
        low, top = whole_number(task.get("instances_minimum", 0)), whole_number(task.get("instances_maximum"))
        # A maximum of 0 means "unlimited", as in the schema's wording.
        if low is not None and top is not None and top > 0 and low > top:
            self.error(f"{path}.instances_minimum", "instances", "must not exceed instances_maximum")

    def task_arrays(self, task: dict[str, Any], path: str) -> None:
        if "options" in task:
            for item_path, item in self.items(task["options"], f"{path}.options"):
                if not isinstance(item, str):
                    self.error(item_path, "type", "must be a string")
        if "ports" in task:
            for item_path, item in self.items(task["ports"], f"{path}.ports"):
                port = whole_number(item)
                if port is None or not 1 <= port <= 65535:
                    self.error(item_path, "port", "must be a port number from 1 to 65535")

    def cron(self, task: dict[str, Any], path: str) -> None:
        value = self.string(task, "cron", path, required=False)
        # One official example says "At 00:00": a warning, since agents cannot schedule it.
        if value is not None and not is_cron(value):
            self.warn(f"{path}.cron", "cron", "is not a five-field cron expression")

    def environment(self, task: dict[str, Any], path: str) -> None:
        keys: set[str] = set()
        if "environment" not in task:
            return
        for item_path, item in self.items(task["environment"], f"{path}.environment"):
            var = self.obj(item, item_path, ("key", "description"))
            if var is None:
                continue
            self.env_key(var, item_path, keys)
            self.string(var, "description", item_path, required=False)
            self.boolean(var, "required", item_path)
            self.env_value(var, item_path)

    def env_key(self, var: dict[str, Any], path: str, keys: set[str]) -> None:
        """Names use only A-Z, 0-9 and _ (spec §8.3 rule 3): some platforms resolve them via DNS."""
        key = self.string(var, "key", path, required=False)
        if key is None:
            return
        if not ENV_KEY.match(key):
            self.error(f"{path}.key", "env-key", "must match ^[A-Z0-9_]+$ (upper-case letters, digits, _)")
        elif key in keys:
            self.error(f"{path}.key", "unique", "is declared twice in this task")
        keys.add(key)

    def env_value(self, var: dict[str, Any], path: str) -> None:
        """Values are strings; a pattern must be RE2 syntax and the default must match it.

        ``pattern`` is RE2 (``build_rules.pattern_problem``: linear time, no backreferences
        or look-around, at most 1024 bytes), never Python's backtracking ``re``.
        """
        default = var.get("default")
        if "default" in var and not isinstance(default, str):
            self.error(f"{path}.default", "env-value", "must be a string: environment values are strings")
        pattern = self.string(var, "pattern", path, required=False)
        if pattern is None:
            return
        if problem := build_rules.pattern_problem(pattern):
            self.error(f"{path}.pattern", "pattern", problem)
            return
        # JSON Schema semantics: a pattern matches anywhere unless it anchors itself.
        if isinstance(default, str) and not build_rules.pattern_matches(pattern, default, whole=False):
            self.error(f"{path}.default", "pattern", "does not match the pattern")
