"""Run the gateway: ``python -m hspm.gateway``."""

from hspm.common.logging import configure_logging
from hspm.common.runner import run_app
from hspm.common.tracing import configure_tracing
from hspm.gateway.app import create_app
from hspm.gateway.config import Settings


def main() -> None:
    """Read settings from the environment and serve until SIGTERM."""
    settings = Settings()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    configure_tracing(settings.service_name)
    run_app(create_app(settings), settings)


if __name__ == "__main__":
    main()
