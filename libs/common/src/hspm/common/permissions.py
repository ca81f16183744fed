"""The permission template: every ``resource.verb`` key a role may grant.

Roles hold ``{resource: {verb: bool}}``; a user's effective permissions are the union
of their roles' ``true`` values, group appointments included. ``everything.manage``
grants all. Keys outside this template are refused when a role is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

CRUD = ("create", "read", "update", "delete")

TEMPLATE: dict[str, tuple[str, ...]] = {
    "everything": ("manage",),
    "users": (*CRUD, "read_self", "update_self"),
    "groups": CRUD,
    "roles": CRUD,
    "identity_providers": CRUD,
    "api_tokens": ("read", "delete"),
    "products": (*CRUD, "publish"),
    "builds": (*CRUD, "validate"),
    "badges": (*CRUD, "award"),
    "interfaces": CRUD,
    "sub_products": CRUD,
    "licenses": CRUD,
    "product_licenses": CRUD,
    "entitlements": CRUD,
    "claims": CRUD,
    "vouchers": CRUD,
    "attempts": ("read",),
    "authorizations": ("create",),
    "platforms": CRUD,
    "instances": CRUD,
    "reviews": ("read", "update"),
    "validations": ("create", "read"),
    "recalls": ("create", "read"),
}

ALL_KEYS: frozenset[str] = frozenset(f"{r}.{v}" for r, verbs in TEMPLATE.items() for v in verbs)
MANAGE = "everything.manage"


class PermissionError_(ValueError):
    """A permissions document that does not fit the template."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if value in ("true", "1", 1):
        return True
    if value in ("false", "0", 0, None):
        return False
    return None


def normalize(document: Any) -> dict[str, dict[str, bool]]:
    """Merge a client's permissions into the all-false template, refusing unknown keys."""
    if not isinstance(document, Mapping):
        raise PermissionError_(["must be a JSON object of {resource: {verb: boolean}}"])
    errors: list[str] = []
    result = {r: dict.fromkeys(verbs, False) for r, verbs in TEMPLATE.items()}
    for resource, verbs in document.items():
        if resource not in TEMPLATE:
            errors.append(f"unknown resource '{resource}'")
            continue
        if not isinstance(verbs, Mapping):
            errors.append(f"'{resource}' must be an object of verb: boolean")
            continue
        for verb, value in verbs.items():
            flag = _as_bool(value)
            if verb not in TEMPLATE[resource]:
                errors.append(f"unknown verb '{resource}.{verb}'")
            elif flag is None:
                errors.append(f"'{resource}.{verb}' must be a boolean")
            else:
                result[resource][verb] = flag
    if errors:
        raise PermissionError_(errors)
    return result


def granted(document: Mapping[str, Mapping[str, bool]]) -> set[str]:
    """The ``resource.verb`` keys a normalized document grants."""
    return {f"{r}.{v}" for r, verbs in document.items() for v, ok in verbs.items() if ok}


def union(documents: Iterable[Mapping[str, Mapping[str, bool]]]) -> set[str]:
    """Deny by default, any ``true`` in any role grants."""
    keys: set[str] = set()
    for doc in documents:
        keys |= granted(doc)
    return keys & ALL_KEYS


def as_document(keys: Iterable[str]) -> dict[str, dict[str, bool]]:
    """Render granted keys back into the full template shape, as ``/status`` reports it."""
    have = set(keys)
    return {r: {v: f"{r}.{v}" in have for v in verbs} for r, verbs in TEMPLATE.items()}
