"""The product and build labels, the search body and the redirect guard, as pure functions."""

from __future__ import annotations

from hspm.web.charts import Bar, bar_chart
from hspm.web.labels import build_label, product_label
from hspm.web.pages.catalog import search_body

DOC = {
    "product": {
        "facts": {
            "organization": ["Acme Health"],
            "data_access": [{"fhir": "US Core read-only"}],
            "networking": "outbound: none",
        }
    },
    "configuration": [
        {
            "default": True,
            "task": [
                {"label": "api", "memory_maximum": 512, "ports": [8080], "environment": [{"key": "DB"}]}
            ],
        }
    ],
}


def test_the_product_label_reads_the_facts_and_the_offers() -> None:
    product = {"mime_type": "application/x-cds-hooks", "badges": [{"name": "Safety Reviewed"}]}
    label = product_label(product, DOC, [{"name": "Annual", "expiry": "relative_date"}])
    assert label["offered_by"] == ["Acme Health"]
    assert label["stewards"] == ["Endorsed: Safety Reviewed"]
    assert label["licensing"] == ["Annual"]
    assert label["technology"] == "application/x-cds-hooks"
    compatibility = dict(label["compatibility"])
    assert compatibility["Data access"] == ["fhir: US Core read-only"]
    assert compatibility["Networking and internet"] == ["outbound: none"]
    assert compatibility["Runtime dependencies"] == ["Not stated"]


def test_a_product_without_a_published_build_still_has_a_label() -> None:
    label = product_label({"name": "x"}, None, [])
    assert label["from_build"] is False and label["technology"] == "Not stated"


def test_the_build_label_counts_rules_and_lists_tasks() -> None:
    run = {
        "status": "completed",
        "outcome": "failed",
        "rules": [{"status": "pass"}, {"status": "fail"}, {"status": "pass"}],
    }
    label = build_label({"status": "rejected", "image_digest": "sha256:ab"}, DOC, run, [])
    assert label["counts"] == [("fail", 1), ("pass", 2)]
    assert label["running"] is False and label["digest"] == "sha256:ab"
    [config] = label["configurations"]
    assert (
        config["default"]
        and config["tasks"][0]["ports"] == "8080"
        and config["tasks"][0]["environment"] == ["DB"]
    )


def test_validation_is_followed_until_the_run_completes() -> None:
    assert build_label({"status": "submitted"}, None, None, [])["running"] is True
    assert build_label({"status": "draft"}, None, None, [])["running"] is False
    assert build_label({"status": "validating"}, None, {"status": "running"}, [])["running"] is True
    assert build_label({"status": "validating"}, None, {"status": "completed"}, [])["running"] is False


def test_the_search_body_drops_malformed_filters() -> None:
    body = search_body(
        {
            "q": " sepsis ",
            "license_id": "../../etc",
            "badge_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
            "page": "x",
        }
    )
    assert body["text"] == "sepsis" and body["sort"] == "relevance" and body["page"] == 1
    assert "license_id" not in body and body["badge_id"] == "3fa85f64-5717-4562-b3fc-2c963f66afa6"


def test_the_chart_escapes_its_labels() -> None:
    svg = bar_chart([Bar("<script>x</script>", 3), Bar("b", 0)], "checks & more")
    assert "<script>" not in svg and "&lt;script&gt;" in svg and 'aria-label="checks &amp; more"' in svg
    assert bar_chart([], "empty").count("No data") == 1
