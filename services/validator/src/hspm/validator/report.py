"""The rule catalogue and the report a run builds: verdicts, policy, outcome, summary.

Every check records its verdict here by rule id; the report then applies the operator's
policy (required rules, per-product waivers) and says whether the build passed. A rule
nobody recorded is reported as skipped with the reason, never as passed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from hspm.common.events.curation import ValidationPolicy
from hspm.common.events.validator import RUNTIME_RULES, STATIC_RULES, RuleResult, RuleStatus

Phase = Literal["static", "runtime"]
EVIDENCE_LIMIT = 2000


@dataclass(frozen=True)
class RuleInfo:
    title: str
    help: str
    suggestion: str


CATALOGUE: dict[str, RuleInfo] = {
    "image.reference": RuleInfo(
        "Image reference is valid and reachable by policy",
        "The build must name one OCI image as registry/repository[:tag][@digest]. Registries on "
        "private, loopback or link-local addresses are refused unless the operator allow-lists them.",
        "Publish the image to a registry the Marketplace can reach, or ask the operator to allow-list it.",
    ),
    "image.resolvable": RuleInfo(
        "Image manifest and config can be pulled and verified",
        "The manifest, config and layers are fetched over the registry v2 API and each digest is checked.",
        "Check that the tag or digest exists and that the registry allows anonymous pulls.",
    ),
    "image.single": RuleInfo(
        "One container image",
        "Spec 8.3 rule 1: an executable build is exactly one OCI image, not an artifact or a bundle.",
        "Reference a single image manifest, or an index whose linux/amd64 entry is that image.",
    ),
    "image.platform": RuleInfo(
        "linux/amd64 image present",
        "Spec 8.3 rule 11: images run on x86-64. Other architectures are optional extras.",
        "Build for linux/amd64 (for example `docker buildx build --platform linux/amd64`).",
    ),
    "image.size": RuleInfo(
        "Image within the operator's size limits",
        "Layer count, manifest, config and the total compressed size are bounded by operator policy.",
        "Use a smaller base image, squash layers and leave build tools out of the final stage.",
    ),
    "image.layers": RuleInfo(
        "Layers unpack safely",
        "No layer may hold paths that escape the root (.. or absolute), device nodes, or "
        "links pointing outside the image. Every layer (gzip, zstd or plain tar) is read to the "
        "end within bounds: headers of at most 64 KiB, names of at most 4096 bytes, a bounded "
        "number of entries and unpacked size; a layer that cannot be read so fails.",
        "Rebuild the image with a standard builder; do not hand-craft layer tarballs with such entries.",
    ),
    "env.names": RuleInfo(
        "Environment variable names are UPPER_CASE",
        "Spec 8.3 rule 3: configuration names use only A-Z, 0-9 and _, in the image and in the "
        "declared configuration; some platforms resolve them case-insensitively. A declared "
        "variable's pattern must be an RE2 regular expression (no backreferences or lookaround).",
        "Rename the variables, e.g. `port` to `PORT`, in the Dockerfile and in marketplace.json.",
    ),
    "env.secrets": RuleInfo(
        "No secrets baked into the image",
        "Environment values and labels must not carry passwords, tokens or private keys; "
        "secrets are injected by the platform at run time.",
        "Remove the value from the image and declare the variable so the platform injects it.",
    ),
    "memory.declared": RuleInfo(
        "Memory limit declared for every task",
        "Spec 8.3 rule 10: the maximum RAM per task is declared at publication and enforced.",
        "Set memory_maximum (MiB) on every task, within the operator's limit.",
    ),
    "ports.match": RuleInfo(
        "Exposed ports match the declared task ports",
        "The ports the image exposes and the ports its tasks declare must agree, so the platform "
        "routes traffic to the port the process listens on.",
        "Add EXPOSE for each declared port, or declare the ports the image exposes.",
    ),
    "user.non_root": RuleInfo(
        "Runs as a non-root user",
        "A process running as root inside the container gains nothing and widens any escape.",
        "Add `USER 1000` (or another unprivileged id) to the image.",
    ),
    "labels.required": RuleInfo(
        "Required labels present",
        "The operator requires some OCI labels (title, version, source) to identify the image.",
        "Add the missing labels with `LABEL key=value`.",
    ),
    "health.declared": RuleInfo(
        "Health check declared",
        "A HEALTHCHECK (or the `org.hl7.hspm.health-path` label) tells platforms when the "
        "product is ready; without one the validator can only guess a path.",
        "Add a HEALTHCHECK, or label the image with the HTTP path that answers when healthy.",
    ),
    "entrypoint.single": RuleInfo(
        "One entry process",
        "Spec 8.3 rule 7: each task runs one entry process; the image must say what it is.",
        "Set ENTRYPOINT or CMD to the one process the task runs.",
    ),
    "configuration.default": RuleInfo(
        "A default configuration with tasks",
        "Spec 8.3 rules 5 and 6: a build declares its default configuration and tasks with "
        "instance bounds the platform can scale within.",
        "Declare one default configuration with at least one task, "
        "with instances_minimum <= instances_maximum.",
    ),
    "runtime.starts": RuleInfo(
        "Starts in the sandbox",
        "The image is run with runc as declared: its user, entry process and injected environment, "
        "no network, a read-only image and a private /tmp.",
        "Run the image locally with the same environment and check its first log lines.",
    ),
    "runtime.healthy": RuleInfo(
        "Becomes healthy with no human intervention",
        "Spec 8.3 rule 12: the product reaches a functional default state by itself (migrations "
        "included) within the operator's start-up budget.",
        "Make start-up need nothing but the declared environment; run migrations automatically.",
    ),
    "runtime.logs": RuleInfo(
        "Logs to stdout/stderr",
        "Spec 8.3 rule 16: logs go to stdout/stderr, never to files.",
        "Write logs to stdout/stderr and leave aggregation to the platform.",
    ),
    "runtime.filesystem": RuleInfo(
        "Writes nothing outside temporary storage",
        "Spec 8.3 rule 2: builds are ephemeral; persistent data lives outside the container. "
        "Every file the run wrote outside /tmp is listed.",
        "Keep state in the database or a declared volume; use /tmp for scratch files.",
    ),
    "runtime.memory": RuleInfo(
        "Stays within its declared memory",
        "Spec 8.3 rule 10: the declared maximum is enforced as a cgroup limit; exceeding it gets "
        "the process killed.",
        "Raise memory_maximum to what the product needs, or bound its caches.",
    ),
    "runtime.processes": RuleInfo(
        "Stays within the process limit",
        "The sandbox bounds the number of processes; hitting the bound means runaway forking.",
        "Use a bounded worker pool.",
    ),
    "runtime.stop": RuleInfo(
        "Stops promptly on SIGTERM",
        "Spec 8.3 rule 13: a product stops within the grace period of a shutdown signal; platforms "
        "kill it after that.",
        "Handle SIGTERM, or run under an init (tini, dumb-init) that forwards it.",
    ),
    "smoke.http": RuleInfo(
        "Declared HTTP interface answers",
        "Spec 8.3 rule 4: a declared interface is exercised by a smoke test.",
        "Serve the declared interface on the declared port without extra configuration.",
    ),
    "smoke.fhir": RuleInfo(
        "FHIR server answers /metadata with a CapabilityStatement",
        "A build exposing a FHIR interface must answer GET /metadata with a CapabilityStatement.",
        "Serve the capability statement at [base]/metadata.",
    ),
    "smoke.cds_hooks": RuleInfo(
        "CDS Hooks discovery document served",
        "A build exposing CDS Hooks must answer GET /cds-services with a discovery document "
        "listing each service's hook, id and description.",
        "Serve the discovery endpoint at /cds-services.",
    ),
    "smoke.smart": RuleInfo(
        "SMART app serves its launch page",
        "A build exposing SMART App Launch must serve an HTML launch page.",
        "Serve the launch page at /launch or /launch.html.",
    ),
}
PHASE: dict[str, Phase] = {
    **dict.fromkeys(STATIC_RULES, "static"),
    **dict.fromkeys(RUNTIME_RULES, "runtime"),
}


@dataclass
class Verdict:
    status: RuleStatus
    evidence: str
    duration_ms: float


class Findings:
    """The verdicts of one run, by rule id; the first verdict for a rule wins."""

    def __init__(self) -> None:
        self.verdicts: dict[str, Verdict] = {}

    def record(self, rule: str, status: RuleStatus, evidence: str = "", duration_ms: float = 0.0) -> None:
        if rule not in CATALOGUE:
            raise KeyError(f"unknown rule {rule!r}")
        if rule in self.verdicts:
            return
        if len(evidence) > EVIDENCE_LIMIT:
            evidence = evidence[: EVIDENCE_LIMIT - 20] + " ...[truncated]"
        self.verdicts[rule] = Verdict(status, evidence, round(duration_ms, 3))

    @contextmanager
    def timed(self) -> Iterator[list[float]]:
        """``with findings.timed() as t: ...`` then pass ``t[0]`` as duration_ms."""
        box = [0.0]
        started = time.perf_counter()
        try:
            yield box
        finally:
            box[0] = (time.perf_counter() - started) * 1000

    def skip(self, rules: tuple[str, ...] | list[str], reason: str) -> None:
        """Mark every rule in ``rules`` not yet decided as skipped, with the reason."""
        for rule in rules:
            self.record(rule, "skipped", reason)

    def has_failed(self, rule: str) -> bool:
        v = self.verdicts.get(rule)
        return v is not None and v.status == "fail"

    def results(self, policy: ValidationPolicy) -> list[RuleResult]:
        """Every rule in catalogue order, with the policy's required flags and waivers."""
        waivers = {e.rule: e.reason for e in policy.exceptions}
        required = set(policy.required_rules)
        out = []
        for rule, info in CATALOGUE.items():
            v = self.verdicts.get(rule) or Verdict("skipped", "not checked in this run", 0.0)
            out.append(
                RuleResult(
                    rule=rule,
                    title=info.title,
                    phase=PHASE[rule],
                    status=v.status,
                    required=rule in required,
                    waived=waivers.get(rule) if v.status == "fail" else None,
                    evidence=v.evidence,
                    help=info.help,
                    suggestion=info.suggestion if v.status in ("fail", "warning") else "",
                    duration_ms=v.duration_ms,
                )
            )
        return out


def outcome(results: list[RuleResult]) -> Literal["passed", "failed"]:
    """Failed when a required rule failed and the operator did not waive it for the product."""
    return "failed" if any(r.status == "fail" and r.required and not r.waived for r in results) else "passed"


SYMBOL = {"pass": "PASS", "fail": "FAIL", "warning": "WARN", "skipped": "SKIP"}


def summary(version: str, reference: str, verdict: str, results: list[RuleResult], runtime: str) -> str:
    """The human report: the verdict, then each rule, failures with their suggestion."""
    counts = {s: sum(1 for r in results if r.status == s) for s in SYMBOL}
    lines = [
        f"Build {version} ({reference}): {verdict.upper()}",
        f"{counts['pass']} passed, {counts['fail']} failed, {counts['warning']} warnings, "
        f"{counts['skipped']} skipped. Sandbox: {runtime}.",
        "",
    ]
    for r in results:
        flag = " (required)" if r.required else ""
        if r.waived:
            flag += f" (waived: {r.waived})"
        lines.append(f"[{SYMBOL[r.status]}] {r.rule}: {r.title}{flag}")
        if r.evidence:
            lines.append(f"       {r.evidence}")
        if r.suggestion:
            lines.append(f"       fix: {r.suggestion}")
    return "\n".join(lines) + "\n"
