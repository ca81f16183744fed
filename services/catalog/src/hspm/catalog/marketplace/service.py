"""The marketplace area's rules: import a document as a build, and hand out its canonical form.

Checking a document walks all of it and runs its users' patterns: that runs in a worker
thread (``asyncio.to_thread``), never on the event loop, on documents of at most
``schema.MAX_DOCUMENT_BYTES``, and for an import only after the caller's rights are checked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from hspm.catalog.builds.service import access as build_access
from hspm.catalog.builds.service import lifecycle as builds
from hspm.catalog.marketplace import mapping, store
from hspm.catalog.marketplace.checks import Issue, Report
from hspm.catalog.marketplace.schema import validate
from hspm.catalog.products import service as products
from hspm.client.canonical import canonical
from hspm.common.auth import Principal
from hspm.common.db import Conn
from hspm.common.errors import Conflict, Forbidden, NotFound, ValidationFailed

MAX_VERSION = 100


@dataclass(frozen=True)
class Imported:
    build: asyncpg.Record
    warnings: list[Issue]


def invalid(errors: Sequence[Issue], warnings: Sequence[Issue] = ()) -> ValidationFailed:
    """422 keyed by JSON path, with the full issues (rules included) beside it."""
    fields: dict[str, list[str]] = {}
    for issue in errors:
        fields.setdefault(issue.path, []).append(issue.message)
    exc = ValidationFailed(fields, detail=f"marketplace.json has {len(errors)} error(s).")
    exc.extra["issues"] = [i.as_json() for i in errors]
    exc.extra["warnings"] = [i.as_json() for i in warnings]
    return exc


async def validate_document(document: Any) -> Report:
    """Every error and warning of a document; nothing is written, and anyone may ask."""
    return await asyncio.to_thread(validate, document)


def _checked(document: Any) -> tuple[Report, mapping.BuildPlan | None, bytes | None]:
    """The report, and for a valid document its plan and canonical bytes (in a worker thread)."""
    report = validate(document)
    if not report.valid:
        return report, None, None
    return report, mapping.plan(document), canonical(document)


async def import_build(
    conn: Conn, p: Principal, product_id: UUID, raw: bytes, document: Any, version: str | None
) -> Imported:
    """Create a build from a document: nothing is written unless all of it is valid."""
    await products.product_for_change(conn, p, product_id, "builds", "create")
    report, plan, canonical_bytes = await asyncio.to_thread(_checked, document)
    if plan is None:
        raise invalid(report.errors, report.warnings)
    version = _version(plan, version, report)
    await _check_references(conn, plan, product_id, report)
    columns = {
        "version": version,
        "container_registry": plan.registry,
        "container_repository": plan.repository,
        "container_tag": plan.image.tag,
        "image_digest": plan.image.digest,
        "marketplace_raw": raw,
        "marketplace_canonical": canonical_bytes,
    }
    # The builds area owns the workflow: submitted, and BuildSubmitted with the snapshot.
    build = await builds.create_submitted(
        conn, product_id, plan.id, columns, _configurations(plan), _recorded_dependencies(plan)
    )
    return Imported(build, report.warnings + mapping.unrecorded(plan.dependencies))


def _version(plan: mapping.BuildPlan, version: str | None, report: Report) -> str:
    """The ``version`` query parameter, else the image tag."""
    chosen = version or plan.image.tag
    if not chosen:
        raise invalid([Issue("version", "is required when the image has no tag", "version")], report.warnings)
    if len(chosen) > MAX_VERSION:
        too_long = Issue("version", f"must be at most {MAX_VERSION} characters", "version")
        raise invalid([too_long], report.warnings)
    return chosen


async def _check_references(conn: Conn, plan: mapping.BuildPlan, product_id: UUID, report: Report) -> None:
    """What only the database can tell: the right product, unknown interfaces, reused ids."""
    errors: list[Issue] = []
    if plan.product_id != product_id:
        errors.append(Issue("$.product.uuid", "is not the id of the product being imported into", "product"))
    wanted = {d.interface_id for d in plan.dependencies if d.interface_id is not None}
    known = await store.known_interfaces(conn, wanted)
    errors += [
        Issue(f"{d.path}.interface_id", "names no interface of this marketplace", "interface")
        for d in plan.dependencies
        if d.interface_id is not None and d.interface_id not in known
    ]
    if errors:
        raise invalid(errors, report.warnings)
    await _check_ids_free(conn, plan)


async def _check_ids_free(conn: Conn, plan: mapping.BuildPlan) -> None:
    # Build, configuration and task ids in the document are permanent: a second import
    # of the same document must not silently mint a different build.
    if await store.build_exists(conn, plan.id):
        raise Conflict("A build with this product.build.uuid already exists; give each build a new UUID.")
    task_ids = {t.id for c in plan.configurations for t in c.tasks}
    config_ids = {c.id for c in plan.configurations}
    if await store.task_ids_taken(conn, task_ids) or await store.configuration_ids_taken(conn, config_ids):
        raise Conflict("A task or configuration id of this document belongs to another build.")


def _configurations(plan: mapping.BuildPlan) -> list[builds.NewConfiguration]:
    return [
        builds.NewConfiguration(
            c.id, c.name, c.default, [builds.NewTask(t.id, _task_columns(t)) for t in c.tasks]
        )
        for c in plan.configurations
    ]


def _task_columns(task: mapping.TaskRow) -> dict[str, Any]:
    fields: dict[str, Any] = {"name": task.name, **task.numbers}
    fields |= {"options": task.options, "ports": task.ports, "cron": task.cron}
    fields["environment"] = task.environment
    return fields


def _recorded_dependencies(plan: mapping.BuildPlan) -> list[dict[str, Any]]:
    """Dependency rows for those naming a product or an interface; the rest stay in the document."""
    return [
        {
            "product_id": dep.product_id,
            "build_ids": dep.build_ids,
            "interface_id": dep.interface_id,
            "name": dep.name,
            "required": dep.required,
            # jsonb holds the document's string as a JSON string; absent means none.
            "mappings": dep.mappings if dep.mappings is not None else {},
        }
        for dep in plan.dependencies
        if dep.product_id is not None or dep.interface_id is not None
    ]


# --- export --------------------------------------------------------------------------------


async def document_bytes(
    conn: Conn, p: Principal, product_id: UUID, build_id: UUID, *, raw: bool, marketplace_url: str
) -> bytes:
    """The canonical document of a readable build, or the raw one for its owner and curators.

    Readable as the build itself is (``builds.access.readable_build``: withdrawn and
    recalled builds are off the market). The canonical document names the image by its
    digest once one is known; the raw one is the document exactly as submitted.
    """
    build = await build_access.readable_build(conn, p, product_id, build_id)
    product = await products.visible_product(conn, p, product_id)
    privileged = build_access.sees_draft_builds(p, product["user_id"])
    row = await store.build_document(conn, product_id, build_id, raw=raw and privileged)
    if row is None:
        raise NotFound("Build not found.")
    if raw:
        if not privileged:
            raise Forbidden("Only the product's owner and curators may read the document as submitted.")
        if row["marketplace_raw"] is None:
            raise NotFound("This build was not imported from a marketplace.json document.")
        return bytes(row["marketplace_raw"])
    if row["marketplace_canonical"] is not None:
        stored = bytes(row["marketplace_canonical"])
        return stored if not build["image_digest"] else await asyncio.to_thread(_repinned, stored, build)
    return canonical(await _generated(conn, marketplace_url, row))


def _repinned(stored: bytes, build: asyncpg.Record) -> bytes:
    """The stored canonical document with its image pinned to the build's digest."""
    document = orjson.loads(stored)
    pinned = mapping.pinned(document, build)
    return stored if pinned is document else canonical(pinned)


async def _generated(conn: Conn, marketplace_url: str, build: asyncpg.Record) -> dict[str, Any]:
    product = await store.product_facts(conn, build["product_id"])
    configs, tasks, deps = await store.packaging(conn, build["id"])
    return mapping.document_from(marketplace_url, product, build, configs, tasks, deps)
