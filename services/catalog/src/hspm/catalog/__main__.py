"""Run the catalog service."""

from hspm.catalog.app import create_app
from hspm.catalog.config import Settings
from hspm.common.logging import configure_logging
from hspm.common.runner import run_app
from hspm.common.tracing import configure_tracing

settings = Settings()
configure_logging("catalog", settings.log_level, settings.log_json)
configure_tracing("catalog")
run_app(create_app(settings), settings)
