"""Checks of a document's ``product.facts`` and its dependency objects (``dependency.json``)."""

from __future__ import annotations

import re
from typing import Any

from hspm.catalog.marketplace.checks import Checker, is_uuid

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
MIME = re.compile(r"^[\w.+-]+/[\w.+-]+$")


class FactChecks(Checker):
    """The facts a marketplace shows about a product: organization, licensing, pricing..."""

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
