"""Run the validator service."""

from hspm.common.logging import configure_logging
from hspm.common.runner import run_app
from hspm.common.tracing import configure_tracing
from hspm.validator.app import create_app
from hspm.validator.config import Settings

settings = Settings()
configure_logging("validator", settings.log_level, settings.log_json)
configure_tracing("validator")
run_app(create_app(settings), settings)
