"""The smoke judges: one HTTP answer in, a verdict out, for each kind of declared interface.

They are pure so they are tested without a container: FHIR wants a CapabilityStatement at
/metadata, CDS Hooks a discovery document, SMART an HTML launch page, and any other HTTP
interface an answer to ``GET /`` without a server error.
"""

from __future__ import annotations

import json
from typing import Any

from hspm.common.events.validator import RuleStatus
from hspm.validator.smoke.http import HttpResponse

EVIDENCE_BYTES = 200

Judgement = tuple[RuleStatus, str]


def _answer(resp: HttpResponse) -> str:
    more = " ..." if resp.truncated or len(resp.body) > EVIDENCE_BYTES else ""
    return f"{resp.status}: {resp.head(EVIDENCE_BYTES)!r}{more}"


def _json(resp: HttpResponse) -> Any:
    """The body as JSON, or None when it is not JSON (or was cut at the read limit)."""
    if resp.truncated:
        return None
    try:
        return json.loads(resp.body)
    except (ValueError, RecursionError):  # a container's "[[[[..." is not JSON we can judge
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
