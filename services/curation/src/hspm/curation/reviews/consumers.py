"""The events that move review cases: the catalog's builds (and their deletion), the validator's reports."""

from __future__ import annotations

from hspm.common.db import Conn
from hspm.common.events import catalog, validator
from hspm.curation.reviews import service


async def on_build_submitted(conn: Conn, event: catalog.BuildSubmitted) -> None:
    """Open (or reopen) the case, request the submission's run, move it to validating."""
    await service.submitted(conn, event)


async def on_build_draft_changed(conn: Conn, event: catalog.BuildDraftChanged) -> None:
    """An editable build's packaging changed: the copy follows (for dry runs); no case moves."""
    await service.draft_changed(conn, event)


async def on_build_deleted(conn: Conn, event: catalog.BuildDeleted) -> None:
    """Tombstone the build and its case; provenance and runs stay."""
    await service.build_deleted(conn, event)


async def on_product_deleted(conn: Conn, event: catalog.ProductDeleted) -> None:
    """Tombstone the product, its builds and their cases; provenance and runs stay."""
    await service.product_deleted(conn, event)


async def on_build_published(conn: Conn, event: catalog.BuildPublished) -> None:
    """The catalog published the approved build."""
    await service.published(conn, event)


async def on_validation_completed(conn: Conn, event: validator.ValidationCompleted) -> None:
    """Store the report (once) and let it move the case when it is the submission's run."""
    await service.report_received(conn, event)
