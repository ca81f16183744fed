"""Events the catalog publishes."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from hspm.common.events.base import Event


class ProductCreated(Event):
    TYPE = "catalog.product.created"
    product_id: UUID
    owner_id: UUID
    name: str


class ProductUpdated(Event):
    TYPE = "catalog.product.updated"
    product_id: UUID
    owner_id: UUID
    name: str


class ProductDeleted(Event):
    TYPE = "catalog.product.deleted"
    product_id: UUID
    owner_id: UUID


class ProductPublished(Event):
    """The product is approved; it is listed from ``visible_at`` on (None: hidden)."""

    TYPE = "catalog.product.published"
    product_id: UUID
    published_at: datetime
    visible_at: datetime | None


class ProductUnpublished(Event):
    TYPE = "catalog.product.unpublished"
    product_id: UUID


class ProductRelationAdded(Event):
    """A sub-product link: an entitlement to the parent covers the child (licensing)."""

    TYPE = "catalog.product_relation.added"
    parent_id: UUID
    child_id: UUID


class ProductRelationRemoved(Event):
    TYPE = "catalog.product_relation.removed"
    parent_id: UUID
    child_id: UUID


class EnvironmentVariable(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")
    key: str
    required: bool = False
    default: str | None = None
    pattern: str | None = None


class TaskSnapshot(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")
    task_id: UUID
    name: str
    memory_minimum: int | None = None
    memory_maximum: int | None = None
    instances_minimum: int = 0
    instances_maximum: int | None = None
    ports: list[int] = []
    options: list[str] = []
    cron: str | None = None
    environment: list[EnvironmentVariable] = []


class ConfigurationSnapshot(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")
    configuration_id: UUID
    name: str
    default: bool
    tasks: list[TaskSnapshot] = []


class ExposureSnapshot(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")
    interface_id: UUID
    interface_uri: str
    interface_name: str
    parameters: list[str] = []


class BuildSubmitted(Event):
    """A build to validate and review: everything curation and the validator need."""

    TYPE = "catalog.build.submitted"
    build_id: UUID
    product_id: UUID
    owner_id: UUID
    version: str
    registry: str | None = None
    repository: str | None = None
    tag: str | None = None
    digest: str | None = None
    mime_type: str | None = None
    configurations: list[ConfigurationSnapshot] = []
    exposures: list[ExposureSnapshot] = []
    has_asset: bool = False


class BuildDraftChanged(BuildSubmitted):
    """The packaging of a build still being edited (draft, or sent back) changed.

    The same snapshot as a submission, so curation's read copy can run the owner's dry
    run of the validation before the build is submitted; it opens no review case.
    """

    TYPE = "catalog.build.draft_changed"


class BuildPublished(Event):
    TYPE = "catalog.build.published"
    build_id: UUID
    product_id: UUID
    published_at: datetime


class BuildWithdrawn(Event):
    """No longer offered: ``status`` says why (deprecated, withdrawn, recalled)."""

    TYPE = "catalog.build.withdrawn"
    build_id: UUID
    product_id: UUID
    status: str
    reason: str | None = None


class BuildDeleted(Event):
    TYPE = "catalog.build.deleted"
    build_id: UUID
    product_id: UUID
