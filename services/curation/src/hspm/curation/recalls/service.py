"""Rules of recalls: which builds a recall reaches, and what it does to their cases."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID, uuid4

import asyncpg

from hspm.common.auth import Principal
from hspm.common.db import Conn
from hspm.common.errors import NotFound, ValidationFailed
from hspm.common.events.curation import RecallIssued
from hspm.common.paging import PageParams
from hspm.curation import access, machine
from hspm.curation.actors import Actor
from hspm.curation.catalog_copy import service as copy
from hspm.curation.events import emit
from hspm.curation.recalls import models, store
from hspm.curation.recalls import versions as semver_range
from hspm.curation.reviews import service as reviews

Record = asyncpg.Record
RECALL_SORTS = ("created_at",)


async def issue(conn: Conn, p: Principal, body: models.RecallCreate) -> Record:
    """Recall the product's builds on offer that ``body`` selects; each case → recalled."""
    p.require("recalls", "create")
    if (body.versions is None) == (body.build_ids is None):
        raise ValidationFailed.field("versions", "give either versions (a SemVer range) or build_ids")
    if not await copy.product_exists(conn, body.product_id):
        raise ValidationFailed.field("product_id", "does not exist")
    cases = await reviews.cases_of_product(conn, body.product_id)
    affected = _selected(cases, body)
    _check_fixed(cases, affected, body.fixed_build_id)
    recall = await store.insert_recall(conn, _fields(p, body, affected))
    actor = Actor.of(p)
    for case in affected:
        await reviews.recall(conn, case, actor, body.reason, recall["id"])
    await emit(conn, _event(recall))
    return recall


def _selected(cases: Sequence[Record], body: models.RecallCreate) -> list[Record]:
    if body.build_ids is not None:
        return _by_ids(cases, body.build_ids)
    assert body.versions is not None
    wanted = semver_range.parse_range(body.versions)
    affected = [c for c in cases if c["state"] in machine.ON_OFFER and wanted.matches(c["version"])]
    if not affected:
        raise ValidationFailed.field("versions", "matches no published or deprecated build of this product")
    return affected


def _by_ids(cases: Sequence[Record], build_ids: Sequence[UUID]) -> list[Record]:
    by_build = {c["build_id"]: c for c in cases}
    picked = [by_build.get(b) for b in dict.fromkeys(build_ids)]
    if any(c is None for c in picked):
        raise ValidationFailed.field("build_ids", "must all be builds of product_id")
    affected = [c for c in picked if c is not None]
    if any(c["state"] not in machine.ON_OFFER for c in affected):
        raise ValidationFailed.field("build_ids", "must all be published or deprecated")
    return affected


def _check_fixed(cases: Sequence[Record], affected: Sequence[Record], fixed: UUID | None) -> None:
    if fixed is None:
        return
    if fixed not in {c["build_id"] for c in cases}:
        raise ValidationFailed.field("fixed_build_id", "must be a build of product_id")
    if fixed in {c["build_id"] for c in affected}:
        raise ValidationFailed.field("fixed_build_id", "must not be one of the recalled builds")


def _fields(p: Principal, body: models.RecallCreate, affected: Sequence[Record]) -> dict[str, object]:
    # Recalled by id: the affected versions, written as a range that matches exactly them.
    versions = body.versions or " || ".join(c["version"] for c in affected)
    return {
        "id": uuid4(),
        "product_id": body.product_id,
        "versions": versions,
        "build_ids": [c["build_id"] for c in affected],
        "severity": body.severity,
        "reason": body.reason,
        "fixed_build_id": body.fixed_build_id,
        "deadline": body.deadline,
        "issued_by": p.user_id,
        "issued_by_name": p.name or None,
    }


def _event(recall: Record) -> RecallIssued:
    return RecallIssued(
        recall_id=recall["id"],
        product_id=recall["product_id"],
        build_ids=recall["build_ids"],
        versions=recall["versions"],
        severity=recall["severity"],
        reason=recall["reason"],
        fixed_build_id=recall["fixed_build_id"],
        deadline=recall["deadline"],
    )


async def list_recalls(
    conn: Conn, p: Principal, page: PageParams, product_id: UUID | None
) -> tuple[list[Record], int]:
    """Everything with ``recalls.read``; otherwise the recalls of the caller's own products."""
    everything, owner = access.read_scope(p, "recalls")
    return await store.list_recalls(conn, page, product_id, owner, everything)


async def get_recall(conn: Conn, p: Principal, recall_id: UUID) -> Record:
    row = await store.get_recall(conn, recall_id)
    if row is None or not access.may_read(p, "recalls", row["owner_id"]):
        raise NotFound("Recall not found.")
    return row
