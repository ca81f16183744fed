"""The metrics reference and the Grafana dashboard agree with the metrics the code defines.

The source of truth is the code: every ``Counter(``/``Gauge(``/``Histogram(`` given an
``hspm_`` name in a library or service, plus the Platform Agent's hand-rendered ``HELP``
table. The scan is checked against what the shared registries really hold, so a metric
defined in a shape the scan misses fails here rather than going unchecked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from hspm.client.platform_agent.metrics import HELP as AGENT_METRICS
from hspm.common import metrics as shared
from hspm.common.web.app import Metrics

REPO = Path(__file__).resolve().parents[2]
METRICS_DOC = REPO / "docs" / "operations" / "metrics-and-traces.md"
DASHBOARD = REPO / "deploy" / "grafana" / "hspm-dashboard.json"
SOURCES = ("libs/*/src", "services/*/src")

# A metric object built with its name as the first argument, possibly on the next line.
CONSTRUCTOR = re.compile(r"\b(Counter|Gauge|Histogram|Summary)\(\s*\"(hspm_[a-z0-9_]+)\"")
# A metric's row in the document's tables: | `name` | type | ...
DOC_ROW = re.compile(r"^\|\s*`(hspm_[a-z0-9_]+)`\s*\|\s*(counter|gauge|histogram|summary)\s*\|", re.M)
SERIES = re.compile(r"\bhspm_[a-z0-9_]+\b")
HISTOGRAM_SERIES = ("_bucket", "_sum", "_count")
# One metric of each place metrics are defined: the base app, the validator, the notifier, the agent.
ORIGINS = (
    "hspm_http_requests_total",
    "hspm_validations_total",
    "hspm_notifier_connections",
    "hspm_agent_connected",
)


def source_files() -> Iterator[Path]:
    for pattern in SOURCES:
        for root in REPO.glob(pattern):
            yield from root.rglob("*.py")


@cache
def code_metrics() -> dict[str, str]:
    """Every metric name the code defines, with its type."""
    found = {
        name: kind.lower() for path in source_files() for kind, name in CONSTRUCTOR.findall(path.read_text())
    }
    return found | {name: kind for name, (kind, _) in AGENT_METRICS.items()}


def registered(registry: CollectorRegistry) -> set[str]:
    """Metric names as exposed: prometheus_client drops a counter's ``_total`` from its family."""
    return {f.name + ("_total" if f.type == "counter" else "") for f in registry.collect()}


def documented() -> dict[str, str]:
    return dict(DOC_ROW.findall(METRICS_DOC.read_text()))


def series_names() -> set[str]:
    """Every series a query may name: a histogram exposes three."""
    names = set()
    for name, kind in code_metrics().items():
        names.add(name)
        if kind == "histogram":
            names.update(name + suffix for suffix in HISTOGRAM_SERIES)
    return names


class TestTheScan:
    def test_it_finds_what_the_registries_hold(self) -> None:
        registry = Metrics.create("probe").registry
        shared.agent_connections(registry, lambda: 0, lambda: 0)
        assert registered(registry) <= set(code_metrics())

    @pytest.mark.parametrize("name", ORIGINS)
    def test_it_finds_metrics_of_every_origin(self, name: str) -> None:
        assert name in code_metrics()

    def test_a_metric_on_the_next_line_is_found(self) -> None:
        source = 'Gauge(\n    "hspm_x_things",\n    "help")'
        assert CONSTRUCTOR.findall(source) == [("Gauge", "hspm_x_things")]


class TestMetricsDocument:
    def test_every_metric_in_the_code_is_documented_with_its_type(self) -> None:
        missing = {n: k for n, k in code_metrics().items() if documented().get(n) != k}
        assert not missing, f"add these to {METRICS_DOC.name} (name: type): {missing}"

    def test_every_documented_metric_exists(self) -> None:
        stale = set(documented()) - set(code_metrics())
        assert not stale, f"{METRICS_DOC.name} lists metrics no code defines: {sorted(stale)}"


def load_dashboard() -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return dashboard


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, those inside collapsed rows included."""
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def expressions(dashboard: dict[str, Any]) -> Iterator[str]:
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            yield target["expr"]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]
            yield query["query"] if isinstance(query, dict) else query


class TestDashboard:
    def test_it_is_a_grafana_dashboard_on_a_chosen_prometheus(self) -> None:
        dashboard = load_dashboard()
        assert 36 <= dashboard["schemaVersion"] <= 41
        variables = {v["name"]: v for v in dashboard["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource"
        assert variables["datasource"]["query"] == "prometheus"

    def test_panel_ids_are_unique(self) -> None:
        ids = [p["id"] for p in panels(load_dashboard())]
        assert len(ids) == len(set(ids)), sorted(ids)

    def test_every_query_uses_the_datasource_variable(self) -> None:
        for panel in panels(load_dashboard()):
            if panel["type"] != "row":
                assert panel["datasource"]["uid"] == "${datasource}", panel["title"]

    def test_every_metric_a_query_names_exists(self) -> None:
        exprs = list(expressions(load_dashboard()))
        assert exprs
        unknown = {name for expr in exprs for name in SERIES.findall(expr)} - series_names()
        assert not unknown, f"the dashboard queries metrics no code defines: {sorted(unknown)}"

    def test_the_new_operational_metrics_are_on_it(self) -> None:
        named = {name for expr in expressions(load_dashboard()) for name in SERIES.findall(expr)}
        for name in (
            "hspm_outbox_pending_events",
            "hspm_bus_messages_total",
            "hspm_notifier_connections",
            "hspm_validations_total",
            "hspm_agent_connected",
        ):
            assert name in named
