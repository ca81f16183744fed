"""``runner.run``: settings from the environment, logs and traces set up, then the app built.

Nothing is served: the stand-in ``create_app`` records its settings and raises, so the
test ends before ``run_app`` would bind a port. Logging and tracing are recorded, not
configured, since both are process-wide.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from hspm.common import runner
from hspm.common.config import ServiceSettings


class WidgetSettings(ServiceSettings):
    service_name: str = "widgets"
    widget_colour: str = "blue"


class Built(Exception):
    """Raised by the stand-in ``create_app`` once it has seen its settings."""


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    recorded: list[tuple[str, Any]] = []

    def configure_logging(service: str, level: str, json: bool | None) -> None:
        recorded.append(("logging", (service, level, json)))

    def configure_tracing(service: str) -> bool:
        recorded.append(("tracing", service))
        return False

    def run_app(app: web.Application, settings: ServiceSettings) -> None:
        raise AssertionError("nothing may be served")

    monkeypatch.setattr(runner, "configure_logging", configure_logging)
    monkeypatch.setattr(runner, "configure_tracing", configure_tracing)
    monkeypatch.setattr(runner, "run_app", run_app)
    return recorded


def _create_app(recorded: list[tuple[str, Any]]) -> Any:
    def create_app(settings: WidgetSettings) -> web.Application:
        recorded.append(("create_app", settings))
        raise Built

    return create_app


class TestRun:
    def test_settings_come_from_the_environment(
        self, calls: list[tuple[str, Any]], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("HSPM_HTTP_PORT", "8765")
        monkeypatch.setenv("HSPM_WIDGET_COLOUR", "green")
        monkeypatch.setenv("HSPM_PUBLIC_URL", "https://market.example")
        with pytest.raises(Built):
            runner.run(_create_app(calls), WidgetSettings)
        [settings] = [value for what, value in calls if what == "create_app"]
        assert type(settings) is WidgetSettings
        assert (settings.http_port, settings.widget_colour, settings.public_url) == (
            8765,
            "green",
            "https://market.example",
        )

    def test_logs_and_traces_are_set_up_before_the_app_is_built(
        self, calls: list[tuple[str, Any]], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("HSPM_LOG_LEVEL", "debug")
        monkeypatch.setenv("HSPM_LOG_JSON", "true")
        with pytest.raises(Built):
            runner.run(_create_app(calls), WidgetSettings)
        assert [what for what, _ in calls] == ["logging", "tracing", "create_app"]
        assert calls[0][1] == ("widgets", "debug", True)
        assert calls[1][1] == "widgets"

    def test_bad_settings_stop_before_anything_is_built(
        self, calls: list[tuple[str, Any]], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("HSPM_HTTP_PORT", "not-a-port")
        with pytest.raises(ValueError, match="http_port"):
            runner.run(_create_app(calls), WidgetSettings)
        assert calls == []
