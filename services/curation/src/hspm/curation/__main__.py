"""Run the curation service."""

from hspm.common.logging import configure_logging
from hspm.common.runner import run_app
from hspm.common.tracing import configure_tracing
from hspm.curation.app import create_app
from hspm.curation.config import Settings

settings = Settings()
configure_logging("curation", settings.log_level, settings.log_json)
configure_tracing("curation")
run_app(create_app(settings), settings)
