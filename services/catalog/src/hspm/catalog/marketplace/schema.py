"""Validation of ``marketplace.json`` (the spec's ``build.json`` schema), with JSON paths.

The published schema is defective (spec §6.4), so this is explicit code rather than a
JSON Schema run: lenient where the schema or its own examples are wrong (warnings),
strict on what a platform relies on to run the build (errors). One rule cannot be seen
from the document at all: images MUST be x86-64 (spec §8.3 rule 11); the validator
service checks it from the image's config blob.
"""

from __future__ import annotations

from typing import Any

from hspm.catalog.builds import rules as build_rules
from hspm.catalog.marketplace.checks import Report, is_uri
from hspm.catalog.marketplace.configurations import ConfigurationChecks
from hspm.catalog.marketplace.facts import FactChecks
from hspm.catalog.marketplace.oci import ImageReference, parse_image, split_registry

# The largest document checked or imported: validation walks all of it, off the event loop.
MAX_DOCUMENT_BYTES = 512 * 1024


def validate(document: Any) -> Report:
    """Every error and warning of ``document``, each with its JSON path."""
    check = _DocumentChecker()
    check.document(document)
    return check.report


class _DocumentChecker(FactChecks, ConfigurationChecks):
    """The document's frame (product, build, binary image); facts and configurations are
    checked by the parts this class puts together."""

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
        registry = None
        if "registry" in binary:
            registry = self.registry(binary, path)
        image = self.string(binary, "image", path, required=False)
        if image is None:
            return
        ref = parse_image(image)
        if isinstance(ref, str):
            self.error(f"{path}.image", "image", ref)
            return
        split = split_registry(ref)
        if split is None:
            self.error(f"{path}.image", "image", "names a registry host that is not a valid host[:port]")
        elif (
            registry is not None
            and split[0] is not None
            and not build_rules.same_registry(registry, split[0])
        ):
            self.error(
                f"{path}.image", "registry", f"is on registry {split[0]} but the registry is {registry}"
            )

    def registry(self, binary: dict[str, Any], path: str) -> str | None:
        """The registry URI's host (canonical ``host[:port]``), or None after an error."""
        self.uri(binary, "registry", path)
        value = binary["registry"]
        if not isinstance(value, str) or not is_uri(value):
            return None
        host = build_rules.canonical_registry(value)
        if host is None:
            self.error(f"{path}.registry", "registry", "must name a registry host: https://host[:port]")
        return host


def image_of(document: dict[str, Any]) -> ImageReference:
    """The parsed image reference of a document that validated."""
    ref = parse_image(document["product"]["build"]["binary"]["image"])
    assert isinstance(ref, ImageReference)
    return ref


def registry_of(document: dict[str, Any]) -> tuple[str | None, str]:
    """A valid document's registry (canonical ``host[:port]``: the image's own host, else the
    registry URI's) and the image's repository path without the host."""
    binary = document["product"]["build"]["binary"]
    split = split_registry(image_of(document))
    assert split is not None
    host, path = split
    return host or build_rules.canonical_registry(binary["registry"]), path
