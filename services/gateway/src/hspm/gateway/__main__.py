"""Run the gateway: ``python -m hspm.gateway``."""

from hspm.common.runner import run
from hspm.gateway.app import create_app
from hspm.gateway.config import Settings

if __name__ == "__main__":
    run(create_app, Settings)
