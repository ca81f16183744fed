"""Run the web UI service."""

from hspm.common.runner import run
from hspm.web.app import create_app
from hspm.web.config import Settings

if __name__ == "__main__":
    run(create_app, Settings)
