"""Validation of ``marketplace.json`` (the spec's ``build.json`` schema), with JSON paths.

The published schema is defective (spec §6.4), so this is explicit code rather than a
JSON Schema run: lenient where the schema or its own examples are wrong (warnings),
strict on what a platform relies on to run the build (errors). One rule cannot be seen
from the document at all: images MUST be x86-64 (spec §8.3 rule 11); the validator
service checks it from the image's config blob.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from hspm.catalog.marketplace.oci import ImageReference, parse_image

REQUIRED_FACTS = (
    "name",
    "organization",
    "stewards",
    "licensing",
    "technology_mime_type",
    "domain",
    "cybersecurity",
    "customer_service",
    "data_access",
    "identify_and_access_management",
    "runtime_dependencies",
    "networking",
)
STEWARD_ROLES = ("endorser", "curator")
SERVICE_KINDS = ("phone", "email", "forum")
# Both spellings: the schema's enum says "maintainence", its examples say "maintenance".
PRICING_KINDS = ("trial", "upfront", "meter", "maintainence", "maintenance")
MEASURES = ("cpu_core", "gpu_core", "ram_gib", "invocation", "access", "hour", "custom")
ENV_KEY = re.compile(r"^[A-Z0-9_]+$")
MIME = re.compile(r"^[\w.+-]+/[\w.+-]+$")
_CRON_FIELD = re.compile(r"^[\w*/,\-?LW#]+$")


@dataclass(frozen=True)
class Issue:
    """One finding: where (JSON path), what, and which rule."""

    path: str
    message: str
    rule: str

    def as_json(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message, "rule": self.rule}


@dataclass
class Report:
    """Errors reject the document; warnings are shown to its author."""

    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.errors

    def as_json(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "errors": [i.as_json() for i in self.errors],
            "warnings": [i.as_json() for i in self.warnings],
        }


def validate(document: Any) -> Report:
    """Every error and warning of ``document``, each with its JSON path."""
    check = _Checker()
    check.document(document)
    return check.report


def is_uuid(value: Any) -> bool:
    """A canonical UUID string (hyphenated, any case)."""
    if not isinstance(value, str) or len(value) != 36:
        return False
    try:
        UUID(value)
    except ValueError:
        return False
    return True


def is_web_url(value: str) -> bool:
    """An absolute http(s) URL with a host, or a mailto: address (the schema's "url")."""
    parts = urlsplit(value)
    if parts.scheme == "mailto":
        return "@" in parts.path
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in value


def is_uri(value: str) -> bool:
    """An absolute URI: a scheme and something after it."""
    parts = urlsplit(value)
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*$", parts.scheme)) and len(value) > len(parts.scheme) + 1


def is_cron(value: str) -> bool:
    """Five whitespace-separated cron fields (``m h dom mon dow``)."""
    fields = value.split()
    return len(fields) == 5 and all(_CRON_FIELD.match(f) for f in fields)


def _count(value: Any) -> int | None:
    """A JSON number that is whole (``256`` or ``256.0``) as an int; anything else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not value.is_integer():
        return None
    return int(value)


class _Checker:
    """Walks the document once, collecting issues; each method checks one object kind."""

    def __init__(self) -> None:
        self.report = Report()

    def error(self, path: str, rule: str, message: str) -> None:
        self.report.errors.append(Issue(path, message, rule))

    def warn(self, path: str, rule: str, message: str) -> None:
        self.report.warnings.append(Issue(path, message, rule))

    # --- generic shapes -----------------------------------------------------------------

    def obj(self, value: Any, path: str, required: tuple[str, ...] = ()) -> dict[str, Any] | None:
        """The object at ``path`` if it is one; each missing required key is an error."""
        if not isinstance(value, dict):
            self.error(path, "type", "must be an object")
            return None
        for key in required:
            if key not in value:
                self.error(f"{path}.{key}", "required", "is required")
        return value

    def items(self, value: Any, path: str, min_items: int = 0) -> Iterator[tuple[str, Any]]:
        """``(path, item)`` of an array; not an array, or too short, is an error."""
        if not isinstance(value, list):
            self.error(path, "type", "must be an array")
            return
        if len(value) < min_items:
            self.error(path, "min-items", f"must have at least {min_items} item(s)")
        for i, item in enumerate(value):
            yield f"{path}[{i}]", item

    def string(self, parent: dict[str, Any], key: str, path: str, *, required: bool = True) -> str | None:
        """``parent[key]`` as a string; a wrong type is an error, absence only if required."""
        if key not in parent:
            if required:
                self.error(f"{path}.{key}", "required", "is required")
            return None
        value = parent[key]
        if not isinstance(value, str):
            self.error(f"{path}.{key}", "type", "must be a string")
            return None
        return value

    def boolean(self, parent: dict[str, Any], key: str, path: str) -> None:
        if key in parent and not isinstance(parent[key], bool):
            self.error(f"{path}.{key}", "type", "must be true or false")

    def enum(self, parent: dict[str, Any], key: str, path: str, allowed: tuple[str, ...]) -> str | None:
        value = self.string(parent, key, path)
        if value is not None and value not in allowed:
            self.error(f"{path}.{key}", "enum", f"must be one of {', '.join(allowed)}")
        return value

    def uuid(self, parent: dict[str, Any], key: str, path: str, *, required: bool = True) -> None:
        value = self.string(parent, key, path, required=required)
        if value is not None and not is_uuid(value):
            self.error(f"{path}.{key}", "uuid", "must be a UUID")

    def url(self, parent: dict[str, Any], key: str, path: str) -> None:
        """The schema's non-standard ``format: url``: http(s) or mailto; empty only warns."""
        value = self.string(parent, key, path)
        if value == "":
            self.warn(f"{path}.{key}", "url", "is empty")
        elif value is not None and not is_web_url(value):
            self.error(f"{path}.{key}", "url", "must be an http(s) or mailto URL")

    def uri(self, parent: dict[str, Any], key: str, path: str) -> None:
        value = self.string(parent, key, path)
        if value is not None and not is_uri(value):
            self.error(f"{path}.{key}", "uri", "must be an absolute URI")

    def each(self, parent: dict[str, Any], key: str, path: str, one: Callable[[Any, str], None]) -> None:
        """Check every element of the array ``parent[key]`` (when present) with ``one``."""
        if key in parent:
            for item_path, item in self.items(parent[key], f"{path}.{key}"):
                one(item, item_path)

    # --- the document ---------------------------------------------------------------------

    def document(self, doc: Any) -> None:
        root = self.obj(doc, "$", ("marketplace_url", "product", "configuration", "provenance"))
        if root is None:
            return
        if "marketplace_url" in root:
            self.url(root, "marketplace_url", "$")
        if "product" in root:
            self.product(root["product"], "$.product")
        if "configuration" in root:
            self.configurations(root["configuration"], "$.configuration")
        self.each(root, "provenance", "$", self.provenance)

    def product(self, value: Any, path: str) -> None:
        product = self.obj(value, path, ("uuid", "build", "facts"))
        if product is None:
            return
        if "uuid" in product:
            self.uuid(product, "uuid", path)
        if "build" in product:
            self.build(product["build"], f"{path}.build")
        if "facts" in product:
            self.facts(product["facts"], f"{path}.facts")

    def build(self, value: Any, path: str) -> None:
        # ``dependency`` is listed as required but never defined (§6.4): optional here.
        build = self.obj(value, path, ("uuid", "binary"))
        if build is None:
            return
        if "uuid" in build:
            self.uuid(build, "uuid", path)
        if "binary" in build:
            self.binary(build["binary"], f"{path}.binary")
        self.each(build, "dependency", path, self.dependency)

    def binary(self, value: Any, path: str) -> None:
        binary = self.obj(value, path, ("registry", "image"))
        if binary is None:
            return
        if "registry" in binary:
            self.uri(binary, "registry", path)
        image = self.string(binary, "image", path, required=False)
        if image is not None and isinstance(parse_image(image), str):
            self.error(f"{path}.image", "image", str(parse_image(image)))

    def dependency(self, value: Any, path: str) -> None:
        """A ``dependency.json`` object, the shape ``runtime_dependencies`` items share."""
        dep = self.obj(value, path, ("uuid", "build"))
        if dep is None:
            return
        uuid = self.string(dep, "uuid", path, required=False)
        if uuid == "":
            self.warn(f"{path}.uuid", "uuid", "is empty: no product is named")
        elif uuid is not None and not is_uuid(uuid):
            self.error(f"{path}.uuid", "uuid", "must be a UUID")
        if "build" in dep:
            for item_path, item in self.items(dep["build"], f"{path}.build"):
                if not is_uuid(item):
                    self.error(item_path, "uuid", "must be a build UUID")
        self.uuid(dep, "interface_id", path, required=False)
        self.boolean(dep, "required", path)
        self.string(dep, "mappings", path, required=False)
        self.string(dep, "name", path, required=False)

    # --- facts ------------------------------------------------------------------------------

    def facts(self, value: Any, path: str) -> None:
        facts = self.obj(value, path, REQUIRED_FACTS)
        if facts is None:
            return
        self.string(facts, "name", path, required=False)
        self.mime_type(facts, path)
        self.each(facts, "domain", path, self.domain)
        self.each(facts, "organization", path, self.organization)
        self.each(facts, "stewards", path, self.steward)
        self.each(facts, "licensing", path, self.license)
        self.each(facts, "pricing", path, self.price)
        self.each(facts, "cybersecurity", path, self.control)
        self.each(facts, "customer_service", path, self.service)
        self.each(facts, "data_access", path, self.data_access)
        self.each(facts, "identify_and_access_management", path, self.named)
        self.each(facts, "runtime_dependencies", path, self.dependency)
        self.each(facts, "networking", path, self.network)

    def mime_type(self, facts: dict[str, Any], path: str) -> None:
        value = self.string(facts, "technology_mime_type", path, required=False)
        if value == "":
            self.warn(f"{path}.technology_mime_type", "mime-type", "is empty")
        elif value is not None and not MIME.match(value):
            self.warn(f"{path}.technology_mime_type", "mime-type", "is not a MIME type (type/subtype)")

    def domain(self, value: Any, path: str) -> None:
        if not isinstance(value, str):
            self.error(path, "type", "must be a string")

    def organization(self, value: Any, path: str) -> None:
        if (org := self.obj(value, path)) is not None:
            self.string(org, "name", path)
            self.string(org, "contact", path, required=False)

    def steward(self, value: Any, path: str) -> None:
        if (steward := self.obj(value, path)) is not None:
            self.string(steward, "name", path)
            self.enum(steward, "role", path, STEWARD_ROLES)

    def license(self, value: Any, path: str) -> None:
        if (lic := self.obj(value, path)) is not None:
            self.string(lic, "name", path)
            self.url(lic, "url", path)
            self.string(lic, "terms", path, required=False)

    def price(self, value: Any, path: str) -> None:
        if (price := self.obj(value, path)) is None:
            return
        self.string(price, "name", path)
        self.enum(price, "kind", path, PRICING_KINDS)
        self.string(price, "rate", path)
        measure = self.string(price, "measure", path)
        # The CQL example ships ``measure: ""``: tolerated, but the author should fix it.
        if measure == "":
            self.warn(f"{path}.measure", "enum", "is empty; expected one of " + ", ".join(MEASURES))
        elif measure is not None and measure not in MEASURES:
            self.error(f"{path}.measure", "enum", "must be one of " + ", ".join(MEASURES))

    def control(self, value: Any, path: str) -> None:
        if (control := self.obj(value, path)) is not None:
            self.uri(control, "control", path)
            self.string(control, "remark", path)

    def service(self, value: Any, path: str) -> None:
        if (service := self.obj(value, path)) is not None:
            self.enum(service, "service", path, SERVICE_KINDS)
            self.url(service, "url", path)
            self.string(service, "terms", path)

    def data_access(self, value: Any, path: str) -> None:
        if (access := self.obj(value, path)) is not None:
            self.string(access, "label", path)
            self.uri(access, "uri", path)

    def named(self, value: Any, path: str) -> None:
        if (item := self.obj(value, path)) is not None:
            self.string(item, "name", path)

    def network(self, value: Any, path: str) -> None:
        if (net := self.obj(value, path)) is not None:
            self.string(net, "name", path)
            self.url(net, "uri", path)

    def provenance(self, value: Any, path: str) -> None:
        if (record := self.obj(value, path)) is not None:
            for key in ("datetime", "remark", "attribution"):
                self.string(record, key, path)

    # --- configurations and tasks ---------------------------------------------------------

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
            task = self.obj(item, item_path, ("label",))
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
        top = _count(task.get("memory_maximum"))
        low = _count(task.get("memory_minimum"))
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
            count = _count(task.get(key))
            if key in task and (count is None or count < 0):
                self.error(f"{path}.{key}", "instances", "must be a whole number, at least 0")
        low, top = _count(task.get("instances_minimum", 0)), _count(task.get("instances_maximum"))
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
                port = _count(item)
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
        """Values are strings; a pattern must compile and the default must match it."""
        default = var.get("default")
        if "default" in var and not isinstance(default, str):
            self.error(f"{path}.default", "env-value", "must be a string: environment values are strings")
        pattern = self.string(var, "pattern", path, required=False)
        if pattern is None:
            return
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            self.error(f"{path}.pattern", "pattern", f"is not a valid regular expression: {exc}")
            return
        # JSON Schema semantics: a pattern matches anywhere unless it anchors itself.
        if isinstance(default, str) and not compiled.search(default):
            self.error(f"{path}.default", "pattern", "does not match the pattern")


def image_of(document: dict[str, Any]) -> ImageReference:
    """The parsed image reference of a document that validated."""
    ref = parse_image(document["product"]["build"]["binary"]["image"])
    assert isinstance(ref, ImageReference)
    return ref
