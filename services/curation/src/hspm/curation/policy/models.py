"""Request bodies of the policy area."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from hspm.common.events.validator import RULE_IDS
from hspm.common.models import Input

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class PolicyUpdate(BaseModel):
    """The operator's whole policy document (PUT replaces it), as ``ValidationPolicy`` has it.

    The same fields, limits and defaults as the event contract, less ``exceptions`` (they
    are kept per product, under /validation_policy/exceptions). The service turns it into
    the contract. Strings are taken as sent, as the contract takes them.
    """

    model_config = ConfigDict(extra="forbid")
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


class ExceptionCreate(Input):
    """Waive one rule for one product, with the reason on record."""

    product_id: UUID
    rule: str
    reason: Reason

    @field_validator("rule")
    @classmethod
    def _known_rule(cls, value: str) -> str:
        if value not in RULE_IDS:
            raise ValueError("is not a rule id the validator knows")
        return value
