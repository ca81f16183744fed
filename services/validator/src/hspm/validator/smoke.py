"""Smoke tests by declared exposure: each interface the build declares is exercised once.

An exposure's interface URI (or name) decides the probe: SMART App Launch serves an HTML
launch page, CDS Hooks a discovery document, FHIR a CapabilityStatement at /metadata, and
anything else must at least answer ``GET /`` without a server error. Rules for interfaces
the build does not declare are skipped, never passed. The judging functions are pure: they
take an :class:`HttpResponse` and return a verdict, so they are tested without a container.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from hspm.common.events.catalog import ExposureSnapshot
from hspm.common.events.validator import RuleStatus
from hspm.validator.netns import HttpResponse
from hspm.validator.report import Findings

SMOKE_RULES: tuple[str, ...] = ("smoke.http", "smoke.fhir", "smoke.cds_hooks", "smoke.smart")
NOT_DECLARED = "not declared: the build exposes no such interface"
EVIDENCE_BYTES = 200

Judgement = tuple[RuleStatus, str]
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


def _answer(resp: HttpResponse) -> str:
    more = " ..." if resp.truncated or len(resp.body) > EVIDENCE_BYTES else ""
    return f"{resp.status}: {resp.head(EVIDENCE_BYTES)!r}{more}"


def _json(resp: HttpResponse) -> Any:
    """The body as JSON, or None when it is not JSON (or was cut at the read limit)."""
    if resp.truncated:
        return None
    try:
        return json.loads(resp.body)
    except ValueError:
        return None


def judge_fhir(resp: HttpResponse) -> Judgement:
    """``GET /metadata``: 200 and a CapabilityStatement naming its fhirVersion."""
    doc = _json(resp)
    if resp.status != 200 or not isinstance(doc, dict):
        return "fail", f"GET /metadata answered {_answer(resp)}"
    if doc.get("resourceType") != "CapabilityStatement":
        return (
            "fail",
            f"GET /metadata returned resourceType {doc.get('resourceType')!r}, not CapabilityStatement",
        )
    version = doc.get("fhirVersion")
    if not isinstance(version, str) or not version:
        return "fail", "GET /metadata returned a CapabilityStatement without fhirVersion"
    return "pass", f"GET /metadata: CapabilityStatement, fhirVersion {version}"


def judge_cds_hooks(resp: HttpResponse) -> Judgement:
    """``GET /cds-services``: a discovery object whose services each have hook, id, description."""
    doc = _json(resp)
    services = doc.get("services") if isinstance(doc, dict) else None
    if resp.status != 200 or not isinstance(services, list):
        return "fail", f"GET /cds-services answered {_answer(resp)}; expected an object with a services list"
    problems = [
        f"services[{i}] lacks {', '.join(missing)}"
        for i, service in enumerate(services)
        if (missing := _missing_strings(service, ("hook", "id", "description")))
    ]
    if problems:
        return "fail", "GET /cds-services: " + "; ".join(problems[:5])
    if not services:
        return "warning", "GET /cds-services: the discovery document lists no services"
    ids = ", ".join(f"{s['id']} ({s['hook']})" for s in services[:5])
    return "pass", f"GET /cds-services: {len(services)} service(s): {ids}"


def _missing_strings(item: object, keys: tuple[str, ...]) -> list[str]:
    if not isinstance(item, dict):
        return list(keys)
    return [k for k in keys if not isinstance(item.get(k), str) or not item[k]]


def is_html(resp: HttpResponse) -> bool:
    """An HTML body: by its content type, or by its first tag when the server guesses none."""
    if "text/html" in resp.headers.get("content-type", "").lower():
        return bool(resp.body.strip())
    start = resp.body[:512].lstrip().lower()
    return start.startswith((b"<!doctype html", b"<html")) or b"<html" in start


def judge_smart(resp: HttpResponse, path: str) -> Judgement:
    """A SMART launch page: 200 with an HTML body."""
    if resp.status == 200 and is_html(resp):
        return "pass", f"GET {path}: 200, HTML launch page"
    return "fail", f"GET {path} answered {_answer(resp)}; expected 200 with an HTML page"


def judge_http(resp: HttpResponse) -> Judgement:
    """Any declared HTTP interface: ``GET /`` answers without a server error."""
    if resp.status < 500:
        return "pass", f"GET / answered {resp.status}"
    return "fail", f"GET / answered {_answer(resp)}"


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
