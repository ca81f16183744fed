"""Run the licensing service."""

from hspm.common.runner import run
from hspm.licensing.app import create_app
from hspm.licensing.config import Settings

if __name__ == "__main__":
    run(create_app, Settings)
