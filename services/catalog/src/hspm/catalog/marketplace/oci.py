"""OCI image references: ``[registry/]repository[:tag][@sha256:hex]`` (distribution/reference grammar)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from hspm.catalog.builds import rules as build_rules

_PATH = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")
_HOST = re.compile(
    r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:]+\])(?::[0-9]+)?$"
)
_TAG = re.compile(r"^\w[\w.-]{0,127}$")
_SHA256 = re.compile(r"^sha256:[0-9a-f]{64}$")
MAX_NAME = 255
SHAPE = "is not an OCI image reference ([registry/]repository[:tag][@sha256:digest])"


@dataclass(frozen=True)
class ImageReference:
    """A parsed reference; ``repository`` keeps any registry host written in the image."""

    repository: str
    tag: str | None
    digest: str | None

    def __str__(self) -> str:
        text = self.repository
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def split_registry(ref: ImageReference) -> tuple[str | None, str] | None:
    """The registry a reference names (canonical ``host[:port]``, or None) and its path;
    None when the host part is not a valid ``host[:port]``."""
    domain, path = _split_domain(ref.repository)
    if domain is None:
        return None, path
    registry = build_rules.canonical_registry(domain)
    return None if registry is None else (registry, path)


def _split_domain(name: str) -> tuple[str | None, str]:
    """The first component is a registry host only if it looks like one (docker's rule)."""
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        return first, rest
    return None, name


def _split_tag(text: str) -> tuple[str, str | None]:
    """``name:tag``: the colon must come after the last slash (``host:5000/x`` has none)."""
    head, sep, tail = text.rpartition(":")
    if sep and "/" not in tail:
        return head, tail
    return text, None


def parse_image(text: str) -> ImageReference | str:
    """The reference, or a message saying why ``text`` is not one."""
    rest, at, digest = text.partition("@")
    name, tag = _split_tag(rest)
    domain, path = _split_domain(name)
    if (domain is not None and not _HOST.match(domain)) or not _PATH.match(path):
        return SHAPE
    if tag is not None and not _TAG.match(tag):
        return "has an invalid tag (letters, digits, _ . -; at most 128; not starting with . or -)"
    if at and not _SHA256.match(digest):
        return "has a digest that is not sha256:<64 lower-case hex digits>"
    if len(name) > MAX_NAME:
        return f"has a repository name longer than {MAX_NAME} characters"
    return ImageReference(repository=name, tag=tag, digest=digest if at else None)
