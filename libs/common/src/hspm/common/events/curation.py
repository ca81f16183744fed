"""Events the curation service publishes.

The catalog follows ``BuildReviewChanged`` for a build's status; the validator takes
``ValidationRequested``; the notifier will carry ``RecallIssued`` to platforms.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from hspm.common.events.base import Event
from hspm.common.events.catalog import ConfigurationSnapshot, ExposureSnapshot


class BuildReviewChanged(Event):
    """A build's review state moved; ``state`` is one of the curation state machine's.

    The catalog mirrors it into ``builds.status``; ``approved`` publishes the build,
    ``deprecated``, ``withdrawn`` and ``recalled`` take it off offer. ``badge_ids`` are
    badges the operator awarded with the decision; the catalog, which owns badges,
    records them. ``image_digest`` is the manifest digest the validator resolved and
    judged (``sha256:...``): set on every move a report causes and on approval, so the
    build is pinned to exactly the bytes that were validated.
    """

    TYPE = "curation.build.review_changed"
    build_id: UUID
    product_id: UUID
    state: str
    reason: str | None = None
    validated: bool = False
    badge_ids: list[UUID] = []
    image_digest: str | None = None


class RuleException(BaseModel):
    """An operator's waiver of one rule for one product, with the reason on record."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    rule: str
    reason: str


class PolicyLimits(BaseModel):
    """The policy's settings, without the per-product exceptions: what is required, the
    limits, which registries are trusted. Curation's ``PUT /validation_policy`` body is
    built on the same fields (with its own model config), so the two cannot drift."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    # Rules whose failure rejects a build automatically; other failures go to review.
    required_rules: list[str] = []
    # Registries (host[:port]) that may resolve to private or loopback addresses.
    allowed_registries: list[str] = []
    # Registries spoken to over plain HTTP (a local development registry).
    insecure_registries: list[str] = []
    required_labels: list[str] = []
    max_layers: int = Field(64, ge=1)
    max_image_bytes: int = Field(2 * 1024**3, ge=1)
    max_manifest_bytes: int = Field(4 * 1024**2, ge=1024)
    max_config_bytes: int = Field(4 * 1024**2, ge=1024)
    # Declared per-task memory: at least 1 MiB, at most this.
    max_memory_mib: int = Field(16_384, ge=1)
    # The sandbox: run at all, how long to become healthy, CPU and process bounds.
    runtime: bool = True
    startup_seconds: float = Field(30.0, gt=0)
    stop_grace_seconds: float = Field(10.0, gt=0)
    cpu_cores: float = Field(1.0, gt=0)
    pids_limit: int = Field(256, ge=8)
    tmpfs_mib: int = Field(64, ge=1)
    default_memory_mib: int = Field(512, ge=16)


class ValidationPolicy(PolicyLimits):
    """Operator policy as data: what is required, the limits, which registries are trusted.

    Curation owns and edits it; each request carries the policy in force (with the
    product's exceptions), so the validator keeps nothing and a report says what it
    was judged against.
    """

    exceptions: list[RuleException] = []


class ImageTarget(BaseModel):
    """Where the build's image is, as the catalog recorded it (not yet normalized)."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    registry: str | None = None
    repository: str | None = None
    tag: str | None = None
    digest: str | None = None


class ValidationRequested(Event):
    """Run the packaging rules (and the sandboxed smoke test) against one build."""

    TYPE = "curation.validation.requested"
    run_id: UUID
    build_id: UUID
    product_id: UUID
    version: str
    image: ImageTarget
    mime_type: str | None = None
    has_asset: bool = False
    configurations: list[ConfigurationSnapshot] = []
    exposures: list[ExposureSnapshot] = []
    policy: ValidationPolicy = ValidationPolicy()
    # "dry_run": the owner's own check of a build not yet submitted; it moves no case.
    trigger: Literal["submission", "manual", "scheduled", "dry_run"] = "manual"


class RecallIssued(Event):
    """A critical update: platforms running an affected build must act on it."""

    TYPE = "curation.recall.issued"
    recall_id: UUID
    product_id: UUID
    build_ids: list[UUID]
    versions: str
    severity: str
    reason: str
    fixed_build_id: UUID | None = None
    deadline: datetime | None = None
