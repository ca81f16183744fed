"""Smoke tests by declared exposure: each interface the build declares is exercised once.

An exposure's interface URI (or name) decides the probe: SMART App Launch serves an HTML
launch page, CDS Hooks a discovery document, FHIR a CapabilityStatement at /metadata, and
anything else must at least answer ``GET /`` without a server error. Rules for interfaces
the build does not declare are skipped, never passed. This module decides what to ask and
records the answers; the verdicts on them are ``judges``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping

from hspm.common.events.catalog import ExposureSnapshot
from hspm.validator.report import Findings
from hspm.validator.smoke.http import HttpResponse
from hspm.validator.smoke.judges import Judgement, judge_cds_hooks, judge_fhir, judge_http, judge_smart

SMOKE_RULES: tuple[str, ...] = ("smoke.http", "smoke.fhir", "smoke.cds_hooks", "smoke.smart")
NOT_DECLARED = "not declared: the build exposes no such interface"
# GET a path with extra headers from the running container; raises OSError, TimeoutError
# or ValueError when there is no usable answer.
Fetch = Callable[[str, Mapping[str, str]], Awaitable[HttpResponse]]
FHIR_ACCEPT = {"Accept": "application/fhir+json"}
JSON_ACCEPT = {"Accept": "application/json"}
HTML_ACCEPT = {"Accept": "text/html"}


def classify(exposure: ExposureSnapshot) -> str:
    """The smoke rule for one exposure. SMART comes first: its URI lives under hl7.org/fhir."""
    uri = exposure.interface_uri.lower()
    name = exposure.interface_name.lower()
    if "smart-app-launch" in uri or "smart" in name:
        return "smoke.smart"
    if "cds-hooks" in uri or "cds hooks" in name or "cds-hooks" in name:
        return "smoke.cds_hooks"
    if "hl7.org/fhir" in uri or "fhir" in name:
        return "smoke.fhir"
    return "smoke.http"


def declared(exposures: Iterable[ExposureSnapshot]) -> dict[str, list[str]]:
    """Smoke rule → the interfaces (names) that call for it, in declaration order."""
    rules: dict[str, list[str]] = {}
    for exposure in exposures:
        rules.setdefault(classify(exposure), []).append(exposure.interface_name or exposure.interface_uri)
    return rules


async def _get(fetch: Fetch, path: str, headers: Mapping[str, str]) -> HttpResponse | str:
    """The response, or why there is none (as evidence)."""
    try:
        return await fetch(path, headers)
    except TimeoutError:
        return f"GET {path}: no answer in time"
    except (OSError, ValueError) as exc:
        return f"GET {path}: {exc.strerror if isinstance(exc, OSError) and exc.strerror else exc}"


async def _check_smart(fetch: Fetch) -> Judgement:
    tried: list[str] = []
    for path in ("/launch.html", "/launch"):
        resp = await _get(fetch, path, HTML_ACCEPT)
        if isinstance(resp, str):
            tried.append(resp)
            continue
        status, evidence = judge_smart(resp, path)
        if status == "pass":
            return status, evidence
        tried.append(evidence)
    return "fail", "; ".join(tried)


async def _check_one(
    fetch: Fetch, path: str, headers: Mapping[str, str], judge: Callable[..., Judgement]
) -> Judgement:
    resp = await _get(fetch, path, headers)
    return ("fail", resp) if isinstance(resp, str) else judge(resp)


async def check(rule: str, fetch: Fetch) -> Judgement:
    """Run one smoke rule's probe against the container."""
    if rule == "smoke.smart":
        return await _check_smart(fetch)
    if rule == "smoke.cds_hooks":
        return await _check_one(fetch, "/cds-services", JSON_ACCEPT, judge_cds_hooks)
    if rule == "smoke.fhir":
        return await _check_one(fetch, "/metadata", FHIR_ACCEPT, judge_fhir)
    return await _check_one(fetch, "/", {}, judge_http)


async def run_smoke(exposures: Iterable[ExposureSnapshot], fetch: Fetch, findings: Findings) -> None:
    """Record every smoke rule: probed for the declared interfaces, skipped for the rest."""
    wanted = declared(exposures)
    for rule, interfaces in wanted.items():
        with findings.timed() as took:
            status, evidence = await check(rule, fetch)
        findings.record(rule, status, f"{evidence} (for {', '.join(interfaces)})", took[0])
    findings.skip([r for r in SMOKE_RULES if r not in wanted], NOT_DECLARED)
