"""Run the catalog service: ``python -m hspm.catalog``."""

from hspm.catalog.app import create_app
from hspm.catalog.config import Settings
from hspm.common.runner import run

if __name__ == "__main__":
    run(create_app, Settings)
