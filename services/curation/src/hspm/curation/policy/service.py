"""Rules of the policy area: who reads and edits the policy, exceptions, the policy in force."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from hspm.common.auth import Principal
from hspm.common.db import Conn
from hspm.common.errors import Forbidden, NotFound, ValidationFailed
from hspm.common.events.curation import ValidationPolicy
from hspm.common.events.validator import RuleResult
from hspm.common.paging import PageParams
from hspm.curation import access
from hspm.curation.catalog_copy import service as copy
from hspm.curation.policy import models, rules, store

Record = asyncpg.Record


async def seed(conn: Conn, first: ValidationPolicy) -> None:
    """Store ``first`` unless a policy exists (the operator's edits survive restarts)."""
    await store.seed_policy(conn, rules.document(first))


async def in_force(conn: Conn, product_id: UUID) -> ValidationPolicy:
    """The policy with this product's exceptions: what a validation request carries."""
    policy = rules.load((await store.get_policy(conn))["document"])
    return rules.for_product(policy, await store.exceptions_of(conn, product_id))


async def get_policy(conn: Conn, p: Principal) -> dict[str, Any]:
    """The policy as ``p`` may see it: which registries are trusted is staff's business."""
    row = dict(await store.get_policy(conn))
    return row | {"document": shown(p, rules.document(rules.load(row["document"])))}


def shown(p: Principal, document: dict[str, Any]) -> dict[str, Any]:
    """A policy document (stored, or as a run applied it) as ``p`` may see it.

    Staff (operators, administrators, compliance validators, auditors) see it whole;
    anyone else without the trusted and insecure registries and the exceptions.
    """
    if access.sees_all_runs(p):
        return document
    return {k: v for k, v in document.items() if k not in rules.STAFF_ONLY}


async def put_policy(conn: Conn, p: Principal, body: Any) -> Record:
    """Replace the policy with the client's document (refused before it is even read)."""
    p.require("reviews", "update")
    update = rules.parse(body)
    policy = ValidationPolicy.model_validate(update.model_dump())
    return await store.put_policy(conn, rules.document(policy), p.user_id)


def failed_required(results: Iterable[RuleResult]) -> list[str]:
    """The rules of a report that reject a build: required, failed and not waived."""
    return rules.failed_required(results)


def _require_staff(p: Principal) -> None:
    """Exceptions say which checks a product skips: staff only (403 for anyone else)."""
    if not access.sees_all_runs(p):
        raise Forbidden("Rule exceptions are shown to operators, validators and auditors only.")


async def list_exceptions(
    conn: Conn, p: Principal, page: PageParams, product_id: UUID | None
) -> tuple[list[Record], int]:
    """Every exception (of one product, if asked), for staff."""
    _require_staff(p)
    return await store.list_exceptions(conn, page, product_id, None, True)


async def get_exception(conn: Conn, p: Principal, exception_id: UUID) -> Record:
    _require_staff(p)
    row = await store.get_exception(conn, exception_id)
    if row is None:
        raise NotFound("Exception not found.")
    return row


async def create_exception(conn: Conn, p: Principal, body: models.ExceptionCreate) -> Record:
    p.require("reviews", "update")
    if not await copy.product_exists(conn, body.product_id):
        raise ValidationFailed.field("product_id", "does not exist")
    fields = body.model_dump() | {"id": uuid4(), "created_by": p.user_id}
    try:
        return await store.insert_exception(conn, fields)
    except asyncpg.UniqueViolationError as exc:
        raise ValidationFailed.field("rule", "is already waived for this product") from exc


async def delete_exception(conn: Conn, p: Principal, exception_id: UUID) -> None:
    p.require("reviews", "update")
    if not await store.delete_exception(conn, exception_id):
        raise NotFound("Exception not found.")
