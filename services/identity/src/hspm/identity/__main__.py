"""Run the identity service (operator commands: ``python -m hspm.identity.cli``)."""

from hspm.common.runner import run
from hspm.identity.app import create_app
from hspm.identity.config import Settings

if __name__ == "__main__":
    run(create_app, Settings)
