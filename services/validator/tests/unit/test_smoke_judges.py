"""The smoke judging functions, on canned responses: no container, no socket."""

from __future__ import annotations

import json
from typing import Any

from hspm.validator.smoke.http import HttpResponse
from hspm.validator.smoke.judges import judge_cds_hooks, judge_fhir, judge_http, judge_smart


def _json(status: int, doc: Any, content_type: str = "application/json") -> HttpResponse:
    return HttpResponse(status, {"content-type": content_type}, json.dumps(doc).encode())


CAPABILITY = {"resourceType": "CapabilityStatement", "fhirVersion": "4.0.1", "status": "active"}
SERVICE = {"hook": "patient-view", "id": "sepsis", "description": "Sepsis alert"}


class TestFhir:
    def test_capability_statement_passes(self) -> None:
        status, evidence = judge_fhir(_json(200, CAPABILITY, "application/fhir+json"))
        assert status == "pass"
        assert "4.0.1" in evidence

    def test_content_type_is_not_required(self) -> None:
        # busybox httpd serves a file without an extension as application/octet-stream
        resp = HttpResponse(
            200, {"content-type": "application/octet-stream"}, json.dumps(CAPABILITY).encode()
        )
        assert judge_fhir(resp)[0] == "pass"

    def test_404_fails_with_status_and_first_bytes(self) -> None:
        resp = HttpResponse(404, {}, b"<HTML><TITLE>404 Not Found</TITLE></HTML>")
        status, evidence = judge_fhir(resp)
        assert status == "fail"
        assert "404" in evidence and "Not Found" in evidence

    def test_other_resource_fails(self) -> None:
        status, evidence = judge_fhir(_json(200, {"resourceType": "OperationOutcome"}))
        assert status == "fail"
        assert "OperationOutcome" in evidence

    def test_missing_fhir_version_fails(self) -> None:
        status, evidence = judge_fhir(_json(200, {"resourceType": "CapabilityStatement"}))
        assert status == "fail"
        assert "fhirVersion" in evidence

    def test_not_json_fails(self) -> None:
        assert judge_fhir(HttpResponse(200, {}, b"<html>hello</html>"))[0] == "fail"

    def test_truncated_body_is_not_parsed(self) -> None:
        resp = HttpResponse(200, {}, json.dumps(CAPABILITY).encode(), truncated=True)
        assert judge_fhir(resp)[0] == "fail"

    def test_evidence_is_bounded(self) -> None:
        _, evidence = judge_fhir(HttpResponse(500, {}, b"x" * 100_000))
        assert len(evidence) < 400


class TestCdsHooks:
    def test_discovery_passes(self) -> None:
        status, evidence = judge_cds_hooks(_json(200, {"services": [SERVICE]}))
        assert status == "pass"
        assert "sepsis (patient-view)" in evidence

    def test_services_must_be_a_list(self) -> None:
        assert judge_cds_hooks(_json(200, {"services": {}}))[0] == "fail"
        assert judge_cds_hooks(_json(200, [SERVICE]))[0] == "fail"

    def test_each_service_needs_hook_id_and_description(self) -> None:
        broken = {"hook": "patient-view", "id": 7}
        status, evidence = judge_cds_hooks(_json(200, {"services": [SERVICE, broken]}))
        assert status == "fail"
        assert "services[1] lacks id, description" in evidence

    def test_no_services_is_a_warning(self) -> None:
        assert judge_cds_hooks(_json(200, {"services": []}))[0] == "warning"

    def test_error_status_fails(self) -> None:
        assert judge_cds_hooks(_json(500, {"services": [SERVICE]}))[0] == "fail"


class TestSmart:
    def test_html_page_passes(self) -> None:
        resp = HttpResponse(200, {"content-type": "text/html"}, b"<!doctype html><html></html>")
        assert judge_smart(resp, "/launch.html") == ("pass", "GET /launch.html: 200, HTML launch page")

    def test_html_recognised_without_content_type(self) -> None:
        resp = HttpResponse(200, {}, b"\n  <!DOCTYPE html>\n<html><body>Launching</body></html>")
        assert judge_smart(resp, "/launch")[0] == "pass"

    def test_empty_html_fails(self) -> None:
        assert judge_smart(HttpResponse(200, {"content-type": "text/html"}, b"  "), "/launch")[0] == "fail"

    def test_json_fails(self) -> None:
        assert judge_smart(_json(200, {"a": 1}), "/launch")[0] == "fail"

    def test_not_found_fails(self) -> None:
        resp = HttpResponse(404, {"content-type": "text/html"}, b"<html>404</html>")
        assert judge_smart(resp, "/launch")[0] == "fail"


class TestHttp:
    def test_anything_below_500_passes(self) -> None:
        for status in (200, 302, 401, 404):
            assert judge_http(HttpResponse(status, {}, b""))[0] == "pass"

    def test_server_error_fails(self) -> None:
        status, evidence = judge_http(HttpResponse(503, {}, b"overloaded"))
        assert status == "fail"
        assert "503" in evidence and "overloaded" in evidence


def test_deeply_nested_json_is_judged_not_a_crash() -> None:
    # Issue 9 (hostile input): a body nesting past the recursion limit fails the probe.
    resp = HttpResponse(200, {"content-type": "application/json"}, b"[" * 200_000)
    assert judge_fhir(resp)[0] == "fail"
