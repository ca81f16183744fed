"""JSON shapes of review cases and provenance, with the spec's ``path`` and ``url``."""

from __future__ import annotations

from typing import Any

import asyncpg

from hspm.common.auth import Principal
from hspm.curation import machine
from hspm.curation.reviews.service import CaseDetail
from hspm.curation.validations import views as run_views

_CASE = (
    "id",
    "build_id",
    "product_id",
    "version",
    "state",
    "attention",
    "attention_reason",
    "submission",
    "current_run_id",
    "image_digest",
    "deleted_at",
    "submitted_at",
    "created_at",
    "updated_at",
)


def case_path(case_id: Any) -> str:
    return f"/reviews/{case_id}"


def case(row: asyncpg.Record, base: str) -> dict[str, Any]:
    body = {k: row[k] for k in _CASE}
    # A tombstone (the build was deleted) is closed to decisions.
    open_ = () if row["deleted_at"] is not None else machine.allowed_decisions(row["state"])
    body["allowed_decisions"] = list(open_)
    build = f"/products/{row['product_id']}/builds/{row['build_id']}"
    body["build_url"] = base + build
    body["validations_url"] = f"{base}{build}/validations"
    path = case_path(row["id"])
    return body | {"path": path, "url": base + path}


def provenance(row: asyncpg.Record, base: str = "") -> dict[str, Any]:
    """One entry, after the spec's ``provenance`` items: when, who, what and why."""
    return {
        "id": row["id"],
        "at": row["at"],
        "attribution": {"kind": row["actor_kind"], "id": row["actor_id"], "name": row["actor_name"]},
        "from_state": row["from_state"],
        "to_state": row["to_state"],
        "event": row["event"],
        "remark": row["remark"],
        "run_id": row["run_id"],
        "recall_id": row["recall_id"],
        "badge_ids": row["badge_ids"],
    }


def detail(found: CaseDetail, base: str, viewer: Principal) -> dict[str, Any]:
    """The case, its whole provenance and its latest run (in the validations area's shape)."""
    body = case(found.case, base)
    body["provenance"] = [provenance(r) for r in found.provenance]
    body["validation"] = run_views.run(found.run, base, viewer, full=True) if found.run is not None else None
    return body
