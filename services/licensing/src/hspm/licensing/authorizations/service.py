"""The runtime check (spec 4.4) and the attempts it leaves: who may ask, and the answer.

Permissions are judged before any query that costs anything: staff (and the product's
owner, checking its own customer) may ask about anyone; everyone signed in may ask about
themselves, unless a scoped token leaves ``authorizations.create`` out. A caller who may
not ask leaves no attempt. Every check that is asked leaves exactly one, 404 and 422
included, committed before the answer is sent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from uuid import UUID, uuid4

import asyncpg

from hspm.common.auth import Principal
from hspm.common.db import Conn
from hspm.common.errors import DomainError, Forbidden, NotFound, ServiceUnavailable
from hspm.common.paging import PageParams
from hspm.licensing.authorizations import store
from hspm.licensing.authorizations.models import Asker, AttemptFilter
from hspm.licensing.directory import service as directory

Record = asyncpg.Record
ATTEMPT_SORTS = ("created_at",)
USER_NOT_FOUND = "User or product not found. Double check your UUIDs?"
GROUP_NOT_FOUND = "Group or product not found. Double check your UUIDs?"
NO_ENTITLEMENT = "No currently-valid entitlements are available for authorization."
# Each retry means a candidate's entitlement ran out under a concurrent check, so the
# next try skips it; a user with more limited candidates than this is answered 503.
MAX_RETRIES = 100


class NoValidEntitlement(DomainError, status=422, title="Unprocessable content"):
    """The subject and product exist, but no claim of theirs is valid and unspent now."""


@dataclass(frozen=True)
class Verdict:
    """A recorded check: ``outcome`` and, when granted, the claim as it is now."""

    outcome: str
    claim: Record | None
    not_found: str = USER_NOT_FOUND


# --- the check -------------------------------------------------------------------------------


async def authorize_user(conn: Conn, p: Principal, user_id: UUID, product_id: UUID, asker: Asker) -> Verdict:
    """``PUT /authorizations/users/{user_id}/products/{product_id}``."""
    await _may_check_others(conn, p, product_id)
    return await _check(conn, "User", user_id, product_id, asker)


async def authorize_group(
    conn: Conn, p: Principal, group_id: UUID, product_id: UUID, asker: Asker
) -> Verdict:
    """``PUT /authorizations/groups/{group_id}/products/{product_id}``: that group's claims only."""
    await _may_check_others(conn, p, product_id)
    verdict = await _check(conn, "Group", group_id, product_id, asker)
    return Verdict(verdict.outcome, verdict.claim, GROUP_NOT_FOUND)


async def authorize_self(conn: Conn, p: Principal, product_id: UUID, asker: Asker) -> Verdict:
    """``PUT /authorizations/products/{product_id}``: the caller, e.g. a running product
    holding its customer's token scoped to ``authorizations.create``."""
    if p.user_id is None:
        p.require("authorizations", "create")  # 401 for the anonymous...
        raise Forbidden("Only a user can be checked for themselves.")  # ...403 for a service
    if not p.may_as_owner("authorizations", "create", p.user_id):
        p.require("authorizations", "create")  # staff may check anyone, themselves too
    return await _check(conn, "User", p.user_id, product_id, asker)


def granted(verdict: Verdict) -> Record:
    """The granted claim, or the error the verdict is answered with (raised only after the
    attempt is committed)."""
    if verdict.outcome == "granted":
        assert verdict.claim is not None
        return verdict.claim
    if verdict.outcome == "not_found":
        raise NotFound(verdict.not_found)
    raise NoValidEntitlement(NO_ENTITLEMENT)


async def _may_check_others(conn: Conn, p: Principal, product_id: UUID) -> None:
    """Staff, or the product's owner (an ISV checking its own customer)."""
    if p.can("authorizations", "create"):
        return
    owner = await directory.owner_of(conn, product_id)
    p.require_or_owner("authorizations", "create", owner)


async def _check(conn: Conn, kind: str, subject: UUID, product_id: UUID, asker: Asker) -> Verdict:
    attempt_id = uuid4()

    def once() -> Awaitable[Record]:
        return store.check(
            conn,
            kind,
            subject,
            product_id,
            attempt_id,
            asker.address,
            asker.platform_id,
            directory.MAX_FAMILY_DEPTH,
        )

    return await _until_decided(once)


async def _until_decided(once: Callable[[], Awaitable[Record]]) -> Verdict:
    for _ in range(MAX_RETRIES):
        row = await once()
        if row["outcome"] != store.RETRY:
            return Verdict(row["outcome"], row if row["outcome"] == "granted" else None)
    raise ServiceUnavailable("Too many concurrent checks of the same entitlements; retry shortly.")


# --- attempts --------------------------------------------------------------------------------


async def list_attempts(
    conn: Conn, p: Principal, page: PageParams, f: AttemptFilter
) -> tuple[list[Record], int]:
    """Everything with ``attempts.read`` (staff, auditors); an ISV the attempts on its own
    products; anyone else 403."""
    if p.can("attempts", "read"):
        return await store.list_attempts(conn, page, f, None)
    products = await _own_products(conn, p)
    if not products:
        p.require("attempts", "read")
    return await store.list_attempts(conn, page, f, products)


async def get_attempt(conn: Conn, p: Principal, attempt_id: UUID) -> Record:
    row = await store.get_attempt(conn, attempt_id)
    if row is None or not await _may_read(conn, p, row["product_id"]):
        raise NotFound("Attempt not found.")
    return row


async def _own_products(conn: Conn, p: Principal) -> list[UUID]:
    if p.user_id is None or not p.may_as_owner("attempts", "read", p.user_id):
        return []
    return await directory.products_owned_by(conn, p.user_id)


async def _may_read(conn: Conn, p: Principal, product_id: UUID) -> bool:
    if p.can("attempts", "read"):
        return True
    return p.may_as_owner("attempts", "read", await directory.owner_of(conn, product_id))
