"""The catalog's build events that open, reopen and publish review cases."""

from __future__ import annotations

from hspm.common.db import Conn
from hspm.common.events import catalog
from hspm.common.events.curation import ImageTarget
from hspm.curation.actors import SYSTEM
from hspm.curation.catalog_copy import store as copy
from hspm.curation.reviews import service
from hspm.curation.validations import service as validations


async def on_build_submitted(conn: Conn, event: catalog.BuildSubmitted) -> None:
    """Open (or reopen) the case, request the submission's run, move it to validating."""
    if not await service.accepts_submission(conn, event.build_id):
        return
    image = ImageTarget(
        registry=event.registry, repository=event.repository, tag=event.tag, digest=event.digest
    )
    await copy.set_owner(conn, event.product_id, event.owner_id)
    await copy.save_submission(
        conn,
        event.build_id,
        event.product_id,
        event.version,
        image.model_dump(mode="json"),
        event.model_dump(mode="json"),
    )
    case = await service.open_case(conn, event.build_id, event.product_id, event.owner_id)
    build = await copy.get_build(conn, event.build_id)
    assert build is not None
    run = await validations.request_run(conn, build, "submission", SYSTEM)
    await service.start_validation(conn, case, run["id"])


async def on_build_published(conn: Conn, event: catalog.BuildPublished) -> None:
    """The catalog published the approved build."""
    await copy.set_published(conn, event.build_id, event.published_at)
    await service.mark_published(conn, event.build_id)
