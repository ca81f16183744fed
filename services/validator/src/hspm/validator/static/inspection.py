"""The static phase: every rule of STATIC_RULES judged from the reference, the registry and the declarations.

:func:`inspect` records one verdict per static rule (pass, fail, warning, or skipped with
the reason) and returns the facts the sandbox needs. Anything the image or its registry
does ends as a verdict; only local failures (a full disk) raise. The order of the phase
lives here; the judgements themselves are in ``rules``, the registry conversation in
``registry``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
from yarl import URL

from hspm.common.events.curation import ValidationPolicy, ValidationRequested
from hspm.common.events.validator import STATIC_RULES
from hspm.validator.config import Settings
from hspm.validator.facts import ImageFacts, Target
from hspm.validator.report import Findings
from hspm.validator.static import layers, reference, rules
from hspm.validator.static.layout import write_layout
from hspm.validator.static.manifests import NotAnImage, RegistryError, Resolved, TooLarge
from hspm.validator.static.registry import RegistryClient

# The scan reads at most this many uncompressed bytes per compressed byte allowed: more
# than any real image inflates, and a decompression bomb stops there.
UNPACK_RATIO = 8
NO_IMAGE = "this build has no container image"


async def inspect(
    request: ValidationRequested,
    findings: Findings,
    settings: Settings,
    workdir: Path,
    http: aiohttp.ClientSession,
) -> ImageFacts | None:
    """Judge the static rules; the image's facts, or None when no manifest and config were read.

    ``facts.layout`` is set only when every layer was pulled, verified and found safe to
    unpack: without it the sandbox has nothing to run.
    """
    configs, policy = request.configurations, request.policy
    # Every judgement over untrusted text (a config of megabytes, declared patterns) runs in
    # a worker thread: the event loop keeps serving the other runs and the health checks.
    if not (request.image.repository or "").strip() and request.has_asset:
        await asyncio.to_thread(_judge_content_build, request, findings)
        return None
    findings.record("memory.declared", *rules.judge_memory(configs, policy.max_memory_mib))
    findings.record("configuration.default", *rules.judge_configuration(configs))
    opened = await _open(request, findings, settings, http)
    if isinstance(opened, str):
        await asyncio.to_thread(_judge_env_without_image, request, findings, opened)
        findings.skip(STATIC_RULES, opened)
        return None
    client, resolved = opened
    facts = resolved.facts(layout=None)
    await asyncio.to_thread(_judge_image, request, findings, resolved, facts)
    facts.layout = await _pull(client, resolved, policy, findings, workdir)
    return facts


def _judge_content_build(request: ValidationRequested, findings: Findings) -> None:
    """A content (CQL, KNART) build: its declarations, if it has any; nothing about an image."""
    configs = request.configurations
    if configs:
        findings.record("memory.declared", *rules.judge_memory(configs, request.policy.max_memory_mib))
        findings.record("configuration.default", *rules.judge_configuration(configs))
        _judge_env_without_image(request, findings, NO_IMAGE)
    findings.skip(STATIC_RULES, NO_IMAGE if configs else f"{NO_IMAGE} and declares no tasks")


def _judge_env_without_image(request: ValidationRequested, findings: Findings, reason: str) -> None:
    """The environment rules from the declarations alone: their failures stand, a pass only
    when there is no image to read (elsewhere it would vouch for an image nobody read)."""
    configs = request.configurations
    for rule, (status, evidence) in (
        ("env.names", rules.judge_env_names(None, configs)),
        ("env.secrets", rules.judge_env_secrets(None, {}, configs)),
    ):
        if status == "pass" and reason != NO_IMAGE:
            findings.record(rule, "skipped", f"{reason}; the declared configuration alone passes")
        else:
            findings.record(rule, status, evidence)


# --- the reference and the registry ---------------------------------------------------------


async def _open(
    request: ValidationRequested, findings: Findings, settings: Settings, http: aiohttp.ClientSession
) -> tuple[RegistryClient, Resolved] | str:
    """Check the reference, then resolve manifest and config; else why the image rules are skipped."""
    policy = request.policy
    with findings.timed() as took:
        try:
            target = reference.normalize(request.image, policy)
            guard = reference.Guard(policy, settings.registry_timeout)
            await guard.check(URL(target.base_url))
            refused = None
        except reference.ReferenceRefused as exc:
            refused = str(exc)
    if refused is not None:
        findings.record("image.reference", "fail", refused, took[0])
        return "the image reference was refused"
    findings.record("image.reference", "pass", _reference_evidence(request, target), took[0])
    client = RegistryClient(http, target, policy, guard, settings.registry_timeout)
    with findings.timed() as took:
        try:
            return client, await client.resolve()
        except RegistryError as exc:
            error = exc
    return _record_resolve_error(findings, error, took[0])


def _record_resolve_error(findings: Findings, error: RegistryError, ms: float) -> str:
    if isinstance(error, NotAnImage):
        findings.record("image.resolvable", "pass", "the manifest was fetched and its digest verified", ms)
        findings.record("image.single", "fail", str(error))
        return "the reference is not one container image"
    if isinstance(error, TooLarge):
        findings.record("image.size", "fail", str(error), ms)
        findings.record("image.resolvable", "skipped", "reading stopped at the size limit")
        return "the image's manifest or config is over the size limit"
    findings.record("image.resolvable", "fail", str(error), ms)
    return "the image could not be pulled"


def _reference_evidence(request: ValidationRequested, target: Target) -> str:
    policy = request.policy
    host = reference.parse_host(target.registry)
    notes = [f"{target} over {target.scheme}"]
    if target.scheme == "http":
        notes.append("an insecure registry by policy")
    elif (request.image.registry or "").strip().lower().startswith("http://"):
        notes.append("the registry URL's http:// was not used: the registry is not insecure by policy")
    if reference.listed(host, policy.allowed_registries):
        notes.append("allow-listed, so its address was not checked")
    if request.image.digest and request.image.tag:
        notes.append(f"tag {request.image.tag} not used: the digest pins the image")
    return "; ".join(notes)


async def _pull(
    client: RegistryClient, resolved: Resolved, policy: ValidationPolicy, findings: Findings, workdir: Path
) -> Path | None:
    with findings.timed() as took:
        try:
            layout = await client.pull(resolved, workdir)
            error = None
        except RegistryError as exc:
            error = exc
    if isinstance(error, TooLarge):
        findings.record("image.size", "fail", str(error))
        findings.record(
            "image.resolvable",
            "pass",
            "manifest and config verified; the layers were not all pulled",
            took[0],
        )
        findings.skip(["image.layers"], "the layers were not pulled: the image is over the size limit")
        return None
    if error is not None:
        findings.record("image.resolvable", "fail", str(error), took[0])
        findings.record("image.size", *rules.judge_declared_size(resolved, policy))
        findings.skip(["image.layers"], "the layers could not be pulled")
        return None
    n = len(resolved.layers)
    findings.record(
        "image.resolvable",
        "pass",
        f"manifest {resolved.digest}, config and {n} layers pulled and verified",
        took[0],
    )
    with findings.timed() as took:
        scans = await scan_layers(layout, resolved, policy.max_image_bytes * UNPACK_RATIO)
    status, evidence = rules.judge_layers(resolved, scans)
    findings.record("image.layers", status, evidence, took[0])
    findings.record("image.size", *rules.judge_size(resolved, policy, scans))
    # Never hand the sandbox a layout whose layers are unsafe to unpack, or were not read.
    if status == "fail":
        return None
    if any(scan.converted for scan in scans):
        kinds, tars = [s.compression for s in scans], [s.converted for s in scans]
        await asyncio.to_thread(write_layout, layout, resolved, kinds, tars)
    return layout


async def scan_layers(layout: Path, resolved: Resolved, max_bytes: int) -> list[layers.LayerScan]:
    """Each pulled layer's scan, in a worker thread; the bound is shared by all layers."""
    diff_ids = (resolved.config.get("rootfs") or {}).get("diff_ids")
    if not isinstance(diff_ids, list) or len(diff_ids) != len(resolved.layers):
        diff_ids = [None] * len(resolved.layers)
    scans = []
    remaining = max_bytes
    for layer, diff_id in zip(resolved.layers, diff_ids, strict=True):
        path = layout / "blobs" / "sha256" / layer["digest"].removeprefix("sha256:")
        scan = await asyncio.to_thread(
            layers.scan_file, path, remaining, diff_id if isinstance(diff_id, str) else None
        )
        remaining -= scan.uncompressed_bytes
        scans.append(scan)
    return scans


def _judge_image(
    request: ValidationRequested, findings: Findings, resolved: Resolved, facts: ImageFacts
) -> None:
    policy, configs = request.policy, request.configurations
    findings.record("image.single", *rules.judge_single(resolved))
    findings.record("image.platform", *rules.judge_platform(resolved))
    findings.record("env.names", *rules.judge_env_names(facts.env, configs))
    findings.record("env.secrets", *rules.judge_env_secrets(facts.env, facts.labels, configs))
    findings.record("ports.match", *rules.judge_ports(facts.exposed_ports, configs))
    findings.record("user.non_root", *rules.judge_user(facts.user))
    findings.record("labels.required", *rules.judge_labels(facts.labels, policy.required_labels))
    findings.record("health.declared", *rules.judge_health(facts.healthcheck, facts.labels))
    findings.record("entrypoint.single", *rules.judge_entrypoint(facts.entrypoint, facts.cmd))
