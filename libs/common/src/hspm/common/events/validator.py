"""Events the validator publishes: a run began, a run finished with its report."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from hspm.common.events.base import Event

RuleStatus = Literal["pass", "fail", "warning", "skipped"]

# Every rule the validator knows, by id: the contract between the operator's policy
# (``required_rules``, exceptions) in curation and the checks in the validator.
STATIC_RULES: tuple[str, ...] = (
    "image.reference",  # well formed; registry not private or loopback unless allow-listed
    "image.resolvable",  # manifest and config fetched, digests verified
    "image.single",  # one image, not a bundle of several
    "image.platform",  # linux/amd64 present (spec 8.3 rule 11)
    "image.size",  # layer count, manifest, config and total size within the limits
    "image.layers",  # layers unpack safely: no path traversal, no device files
    "env.names",  # ^[A-Z0-9_]+$ in the image and the declared configuration (rule 3)
    "env.secrets",  # no secrets in environment values or labels
    "memory.declared",  # every task declares a sane memory maximum (rule 10)
    "ports.match",  # exposed ports match the declared task ports
    "user.non_root",  # the image does not run as root
    "labels.required",  # the labels the operator requires
    "health.declared",  # a HEALTHCHECK or a health path label
    "entrypoint.single",  # one entry process per task (rule 7)
    "configuration.default",  # a default configuration with tasks (rules 5, 6)
)
RUNTIME_RULES: tuple[str, ...] = (
    "runtime.starts",  # the sandbox starts the image as declared
    "runtime.healthy",  # healthy with zero human intervention (rule 12)
    "runtime.logs",  # logs to stdout/stderr (rule 16)
    "runtime.filesystem",  # writes nothing outside tmp and declared volumes (rule 2)
    "runtime.memory",  # stays under its declared memory limit (rule 10)
    "runtime.processes",  # stays under the process limit (no fork bomb)
    "runtime.stop",  # exits within the grace period of SIGTERM (rule 13)
    "smoke.http",  # a declared HTTP interface answers
    "smoke.fhir",  # a declared FHIR server answers /metadata with a CapabilityStatement
    "smoke.cds_hooks",  # a declared CDS Hooks service answers /cds-services with discovery
    "smoke.smart",  # a declared SMART app serves its launch page
)
RULE_IDS: frozenset[str] = frozenset(STATIC_RULES + RUNTIME_RULES)
# What a fresh installation requires: the spec's MUSTs that a run can prove.
DEFAULT_REQUIRED_RULES: tuple[str, ...] = (
    "image.reference",
    "image.resolvable",
    "image.single",
    "image.platform",
    "image.size",
    "image.layers",
    "env.names",
    "memory.declared",
    "runtime.starts",
    "runtime.healthy",
    "runtime.filesystem",
    "runtime.memory",
    "runtime.processes",
    "runtime.stop",
    "smoke.http",
    "smoke.fhir",
    "smoke.cds_hooks",
    "smoke.smart",
)


class RuleResult(BaseModel):
    """One rule's verdict, in the spirit of a preflight check: what, why, how to fix."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    rule: str
    title: str
    phase: Literal["static", "runtime"]
    status: RuleStatus
    required: bool = False
    waived: str | None = None
    evidence: str = ""
    help: str = ""
    suggestion: str = ""
    duration_ms: float = 0.0


class RuntimeVerdict(BaseModel):
    """Whether the sandbox ran; when not, the exact reason (never reported as passed)."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    status: Literal["ran", "skipped"]
    reason: str | None = None


class ValidationStarted(Event):
    TYPE = "validator.validation.started"
    run_id: UUID
    build_id: UUID
    attempt: int = 1


class ValidationCompleted(Event):
    """A finished run: ``outcome`` failed means a required rule failed and was not waived.

    ``error`` means the run itself broke (registry down, bad reference): nothing was
    judged. ``timings`` are seconds per phase (resolve, pull, unpack, start, healthy,
    smoke, stop, total).
    """

    TYPE = "validator.validation.completed"
    run_id: UUID
    build_id: UUID
    product_id: UUID
    outcome: Literal["passed", "failed", "error"]
    digest: str | None = None
    rules: list[RuleResult] = []
    runtime: RuntimeVerdict = RuntimeVerdict(status="skipped", reason="not attempted")
    timings: dict[str, float] = {}
    image: dict[str, Any] = {}
    summary: str = ""
    error: str | None = None
