"""Who may see curation's records of a product: the rules every area shares.

Operators (a permission) see everything; a product's owner sees the records of their
own products, unless a scoped API token leaves the matching key out. A record the
caller may not see answers 404, the same as a missing one, so ids cannot be probed.
"""

from __future__ import annotations

from uuid import UUID

from hspm.common.auth import Principal


def owner_scope(p: Principal, resource: str, verb: str) -> UUID | None:
    """The user id to narrow a list to the caller's own products, or None for no rows."""
    if p.user_id is None or (p.scopes is not None and f"{resource}.{verb}" not in p.scopes):
        return None
    return p.user_id


def read_scope(p: Principal, resource: str) -> tuple[bool, UUID | None]:
    """For a list: (everything, owner). ``resource.read`` sees all; others their own products'."""
    if p.can(resource, "read"):
        return True, None
    return False, owner_scope(p, resource, "read")


def may_read(p: Principal, resource: str, owner_id: UUID) -> bool:
    """One record of a product owned by ``owner_id``: ``resource.read``, or its owner."""
    return p.can(resource, "read") or p.may_as_owner(resource, "read", owner_id)


def sees_all_runs(p: Principal) -> bool:
    """Validation runs of every build: validators, auditors and reviewers."""
    return p.can("validations", "read") or p.can("reviews", "update")
