"""Run the validator service."""

from hspm.common.runner import run
from hspm.validator.app import create_app
from hspm.validator.config import Settings

if __name__ == "__main__":
    run(create_app, Settings)
