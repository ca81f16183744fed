"""Which smoke rule an exposure calls for, and run_smoke against a fake container."""

from __future__ import annotations

import json
from collections.abc import Mapping
from uuid import uuid4

from hspm.common.events.catalog import ExposureSnapshot
from hspm.validator.report import Findings
from hspm.validator.smoke.http import HttpResponse
from hspm.validator.smoke.probes import NOT_DECLARED, SMOKE_RULES, classify, declared, run_smoke


def _exposure(uri: str, name: str = "") -> ExposureSnapshot:
    return ExposureSnapshot(interface_id=uuid4(), interface_uri=uri, interface_name=name or uri)


class FakeContainer:
    """Answers GETs from a table; a missing path is a refused connection."""

    def __init__(self, pages: Mapping[str, HttpResponse]) -> None:
        self.pages = pages
        self.asked: list[tuple[str, dict[str, str]]] = []

    async def __call__(self, path: str, headers: Mapping[str, str]) -> HttpResponse:
        self.asked.append((path, dict(headers)))
        if path not in self.pages:
            raise ConnectionRefusedError(111, "Connection refused")
        return self.pages[path]


class TestClassify:
    def test_smart_before_fhir(self) -> None:
        # the SMART App Launch IG lives under hl7.org/fhir: it must not count as a FHIR server
        assert classify(_exposure("http://hl7.org/fhir/smart-app-launch")) == "smoke.smart"
        assert classify(_exposure("urn:example:launch", "SMART on FHIR app")) == "smoke.smart"

    def test_cds_hooks(self) -> None:
        assert classify(_exposure("https://cds-hooks.hl7.org/2.0")) == "smoke.cds_hooks"
        assert classify(_exposure("urn:example:cds", "CDS Hooks 1.0")) == "smoke.cds_hooks"

    def test_fhir(self) -> None:
        assert classify(_exposure("http://hl7.org/fhir/R4")) == "smoke.fhir"
        assert classify(_exposure("urn:example:api", "FHIR R4")) == "smoke.fhir"

    def test_anything_else_is_http(self) -> None:
        assert classify(_exposure("https://example.org/admin-api/v2", "Admin API")) == "smoke.http"

    def test_declared_groups_interfaces_by_rule(self) -> None:
        rules = declared([_exposure("http://hl7.org/fhir/R4", "FHIR R4"), _exposure("urn:a", "FHIR STU3")])
        assert rules == {"smoke.fhir": ["FHIR R4", "FHIR STU3"]}


class TestRunSmoke:
    async def test_undeclared_rules_are_skipped(self) -> None:
        findings = Findings()
        await run_smoke([], FakeContainer({}), findings)
        assert {r: findings.verdicts[r].status for r in SMOKE_RULES} == dict.fromkeys(SMOKE_RULES, "skipped")
        assert findings.verdicts["smoke.fhir"].evidence == NOT_DECLARED

    async def test_fhir_asks_for_fhir_json(self) -> None:
        body = json.dumps({"resourceType": "CapabilityStatement", "fhirVersion": "4.0.1"}).encode()
        container = FakeContainer({"/metadata": HttpResponse(200, {}, body)})
        findings = Findings()
        await run_smoke([_exposure("http://hl7.org/fhir/R4", "FHIR R4")], container, findings)
        assert findings.verdicts["smoke.fhir"].status == "pass"
        assert "(for FHIR R4)" in findings.verdicts["smoke.fhir"].evidence
        assert container.asked == [("/metadata", {"Accept": "application/fhir+json"})]
        assert findings.verdicts["smoke.http"].status == "skipped"

    async def test_smart_falls_back_to_launch(self) -> None:
        page = HttpResponse(200, {"content-type": "text/html"}, b"<html>launch</html>")
        container = FakeContainer({"/launch.html": HttpResponse(404, {}, b"no"), "/launch": page})
        findings = Findings()
        await run_smoke([_exposure("http://hl7.org/fhir/smart-app-launch")], container, findings)
        assert findings.verdicts["smoke.smart"].status == "pass"
        assert [path for path, _ in container.asked] == ["/launch.html", "/launch"]

    async def test_smart_fails_with_both_attempts(self) -> None:
        findings = Findings()
        await run_smoke([_exposure("http://hl7.org/fhir/smart-app-launch")], FakeContainer({}), findings)
        verdict = findings.verdicts["smoke.smart"]
        assert verdict.status == "fail"
        assert "GET /launch.html: Connection refused" in verdict.evidence
        assert "GET /launch: Connection refused" in verdict.evidence

    async def test_no_answer_fails(self) -> None:
        async def silent(path: str, headers: Mapping[str, str]) -> HttpResponse:
            raise TimeoutError

        findings = Findings()
        await run_smoke([_exposure("https://cds-hooks.hl7.org")], silent, findings)
        assert findings.verdicts["smoke.cds_hooks"].status == "fail"
        assert "no answer in time" in findings.verdicts["smoke.cds_hooks"].evidence

    async def test_each_rule_probed_once(self) -> None:
        container = FakeContainer({"/": HttpResponse(200, {}, b"hi")})
        findings = Findings()
        await run_smoke([_exposure("urn:a", "Admin"), _exposure("urn:b", "Reports")], container, findings)
        assert findings.verdicts["smoke.http"].status == "pass"
        assert len(container.asked) == 1
