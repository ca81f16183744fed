"""Pure rules of builds and packaging: versions, image references, cron, environment."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import semver

from hspm.client import patterns

# Distinct builds SHOULD NOT reuse these moving names (spec §1.2 Build).
MOVING_VERSIONS = frozenset({"latest", "nightly"})
# A draft, or a build curation sent back (rejected, changes requested, rejected
# automatically by validation): it can be edited and submitted again (ADR 12).
EDITABLE = frozenset({"draft", "rejected", "changes_requested", "auto_rejected"})
# Curation's review states that put a build on the market, and those that take it off.
PUBLISHING = frozenset({"approved", "published"})
RETIRING = frozenset({"deprecated", "withdrawn", "recalled"})
# Retired builds taken off the market: no longer listed or downloadable for the public
# (they keep ``published_at``); their owner, staff and auditors still read them.
OFF_MARKET = frozenset({"withdrawn", "recalled"})
# What may still follow a retired status (curation's machine: withdrawn and recalled are
# final, a deprecated build may only be withdrawn or recalled). Review states arrive out
# of order (a message nacked while the database was away is redelivered after a later
# one), so anything else arriving at a retired build is an older move: ignored.
AFTER_RETIRED: Mapping[str, frozenset[str]] = {
    "deprecated": frozenset({"withdrawn", "recalled"}),
    "withdrawn": frozenset(),
    "recalled": frozenset(),
}
# Orders a caller may ask builds in ("version" is SemVer precedence; see store.py).
BUILD_SORTS = ("version", "created_at", "published_at")

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
REGISTRY = re.compile(rf"{_LABEL}(?:\.{_LABEL})*(?::[0-9]{{1,5}})?")
REPOSITORY = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*")
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
ENV_KEY = re.compile(r"[A-Z0-9_]+")

# Identifiers of a pre-release joined by a byte below every SemVer identifier character,
# so a plain "C"-collated comparison of the key follows SemVer precedence.
_PRE_SEPARATOR = " "


def parse_version(version: str) -> tuple[list[int], str | None] | None:
    """SemVer core and a sortable pre-release key, or None for a non-SemVer version."""
    try:
        v = semver.Version.parse(version)
    except ValueError:
        return None
    return [v.major, v.minor, v.patch], pre_release_key(v.prerelease)


def pre_release_key(prerelease: str | None) -> str | None:
    """Numeric identifiers rank below alphanumeric ones and compare as numbers."""
    if not prerelease:
        return None
    parts = []
    for ident in prerelease.split("."):
        parts.append(f"0{int(ident):020d}" if ident.isdigit() else f"1{ident}")
    return _PRE_SEPARATOR.join(parts)


def version_problem(version: str) -> str | None:
    """Why a version is refused, or None."""
    if parse_version(version) is None and version.strip().lower() in MOVING_VERSIONS:
        return "must not reuse the moving names 'latest' or 'nightly'"
    return None


_CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_MONTHS = "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC"
_DAYS = "SUN MON TUE WED THU FRI SAT"
_CRON_NAMES: tuple[dict[str, int], ...] = (
    {},
    {},
    {},
    {m: i for i, m in enumerate(_MONTHS.split(" "), 1)},
    {d: i for i, d in enumerate(_DAYS.split(" "))},
)
_CRON_ITEM = re.compile(r"(\*|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:/([0-9]+))?")


def cron_problem(expression: str) -> str | None:
    """Why a 5-field cron expression is invalid, or None."""
    fields = expression.split()
    if len(fields) != 5:
        return "must have 5 fields: minute hour day-of-month month day-of-week"
    for i, field in enumerate(fields):
        for item in field.split(","):
            if not _cron_item_ok(item, i):
                return f"field {i + 1} ({field!r}) is not valid"
    return None


def _cron_item_ok(item: str, index: int) -> bool:
    match = _CRON_ITEM.fullmatch(item)
    if match is None:
        return False
    span, step = match.groups()
    if step is not None and int(step) < 1:
        return False
    if span == "*":
        return True
    low, high = _CRON_RANGES[index]
    values = [_cron_value(v, index) for v in span.split("-")]
    if any(v is None or not low <= v <= high for v in values):
        return False
    return len(values) == 1 or values[0] <= values[1]  # type: ignore[operator]


def _cron_value(text: str, index: int) -> int | None:
    if text.isdigit():
        return int(text)
    return _CRON_NAMES[index].get(text.upper())


# --- user-supplied regular expressions: RE2, shared with the Platform Agent ----------------

MAX_PATTERN_BYTES = patterns.MAX_PATTERN_BYTES
pattern_problem = patterns.pattern_problem
pattern_matches = patterns.pattern_matches


# --- the reference model's task field names -------------------------------------------------

# The packaging document and the reference server name task fields differently; each
# alias is accepted for the catalog's own name (spec §1.2 Configuration / Task).
TASK_ALIASES = {
    "label": "name",
    "minimum": "instances_minimum",
    "maximum": "instances_maximum",
    "memory": "memory_maximum",
}


def unalias(data: Any, aliases: Mapping[str, str]) -> Any:
    """``data`` with each alias renamed to its field; ValueError when both disagree."""
    if not isinstance(data, dict) or not any(a in data for a in aliases):
        return data
    out = dict(data)
    for alias, name in aliases.items():
        if alias not in out:
            continue
        value = out.pop(alias)
        if name in out and out[name] != value:
            raise ValueError(f"{alias} is another name for {name}; give one of them, or the same value")
        out[name] = value
    return out


# --- image references -----------------------------------------------------------------------

# Names people write for Docker Hub: one registry, whichever a reference uses.
DOCKER_HUB = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"})
MAX_REPOSITORY = 255


@dataclass(frozen=True)
class ImageParts:
    """``[registry/]repository[:tag][@digest]`` split; the registry is canonical (see below)."""

    registry: str | None
    repository: str
    tag: str | None
    digest: str | None


def canonical_registry(text: str) -> str | None:
    """The one stored form of a registry: a lower-case ``host[:port]``, no scheme, no path.

    Accepts that form or a URL (``https://index.docker.io/v1/``, as documents write it);
    credentials and paths are dropped. None when it names no valid host.
    """
    text = text.strip()
    if "://" in text:
        netloc = urlsplit(text).netloc
        text = netloc.rpartition("@")[2]
    text = text.lower()
    return text if text and REGISTRY.fullmatch(text) else None


def same_registry(a: str, b: str) -> bool:
    """Two canonical registries name the same one (Docker Hub's aliases included)."""
    return a == b or (a in DOCKER_HUB and b in DOCKER_HUB)


def split_image(text: str) -> ImageParts | str:
    """A full reference into its parts, or why it is not one (docker's rule: the first
    component is a registry host only if it has a dot or a port, or is ``localhost``)."""
    if "://" in text:
        return "must be [registry/]repository[:tag][@digest], not a URL"
    rest, at, digest = text.partition("@")
    head, colon, tag = rest.rpartition(":")
    name, tag_or_none = (head, tag) if colon and "/" not in tag else (rest, None)
    first, slash, path = name.partition("/")
    registry = None
    if slash and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        registry = canonical_registry(first)
        if registry is None:
            return f"names a registry host {first!r} that is not a valid host[:port]"
    else:
        path = name
    if not REPOSITORY.fullmatch(path) or len(path) > MAX_REPOSITORY:
        return (
            "must be an OCI repository name (lower-case path components), with optional registry, tag, digest"
        )
    if tag_or_none is not None and not TAG.fullmatch(tag_or_none):
        return "has an invalid tag (letters, digits, _ . -; at most 128; not starting with . or -)"
    if at and not DIGEST.fullmatch(digest):
        return "has a digest that is not sha256:<64 lower-case hex digits>"
    return ImageParts(registry, path, tag_or_none, digest if at else None)


def image_reference(
    registry: str | None, repository: str | None, tag: str | None, digest: str | None
) -> str | None:
    """What a platform pulls: ``registry/repository@digest`` once a digest is known (pinned),
    else ``registry/repository:tag``; None without a repository."""
    if not repository:
        return None
    name = (
        f"{registry}/{repository}" if registry and not repository.startswith(f"{registry}/") else repository
    )
    if digest:
        return f"{name}@{digest}"
    return f"{name}:{tag}" if tag else name


def stale_review(current: str, incoming: str) -> bool:
    """Whether curation's ``incoming`` state is older than a build's retired ``current`` one."""
    return current in AFTER_RETIRED and incoming not in AFTER_RETIRED[current]
